#pragma once
// Record ids: 26 characters of lowercase Crockford base32, "tttttttttt cccc rrrrrrrrrrrr":
// 10 for the millisecond timestamp (fixed width, so string order is time order), 4 for a
// per-thread counter (order within a millisecond on one thread), 12 (60 bits) from a
// per-thread generator seeded from the OS CSPRNG (no collisions across threads/replicas).
#include <cstdint>
#include <string>

namespace gm::metering {

inline constexpr std::size_t record_id_length = 26;

std::string make_record_id(std::int64_t now_ms);

// The millisecond timestamp encoded in an id made by make_record_id; -1 if malformed.
std::int64_t record_id_time_ms(const std::string& id) noexcept;

}  // namespace gm::metering
