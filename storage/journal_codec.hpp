#pragma once
// The journal's binary record: cheap to produce on the proxy's I/O threads (no DOM, no
// number formatting, one pass, one checksum), and read back only at a replay.
//
//   0xB1 | u32 payload length (LE) | u32 crc32 of payload (LE) | payload
//
// The payload is a version byte and the record's fields in a fixed order: integers as
// zigzag LEB128 varints, strings as a varint length and the bytes. The leading byte can
// never start a text journal line (those start with a hex digit), so one segment may hold
// lines written by an older version and binary records, and replay tells them apart.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metering/usage_record.hpp"

namespace gm::storage {

inline constexpr unsigned char journal_record_magic = 0xB1;
inline constexpr std::size_t journal_record_header = 9;

// Appends the framed record to out (out is not cleared: callers reuse one buffer).
void encode_journal_record(const metering::usage_record& r, std::string& out);

// Decodes one framed record starting at data[0]; nullopt when the frame is torn, the
// checksum is wrong or the payload does not parse. On success *consumed is the frame size.
std::optional<metering::usage_record> decode_journal_record(std::string_view data, std::size_t* consumed = nullptr);

// Every record in a segment's bytes, oldest first: binary frames and old text lines
// ("<crc> <json>\n", see record_codec) alike; zero bytes (a mapped segment's reserved
// space after a crash) are skipped. A torn or corrupt frame or line is skipped
// (counted in *skipped) and reading resumes at the next frame or line.
std::vector<metering::usage_record> decode_journal_segment(std::string_view bytes, std::uint64_t* skipped = nullptr);
// The same, appended to out: the writer reads spill segments back into one vector it keeps,
// rather than growing a new one (page faults, moves) for every segment.
void decode_journal_segment(std::string_view bytes, std::vector<metering::usage_record>& out,
                            std::uint64_t* skipped = nullptr);

}  // namespace gm::storage
