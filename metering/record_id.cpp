#include "metering/record_id.hpp"

#include <random>

namespace gm::metering {

namespace {

// Crockford base32, lowercase; its characters are in ascending ASCII order.
constexpr char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

struct thread_state {
    std::mt19937_64 rng;
    std::uint32_t counter;
    std::int64_t last_ms = -1;

    thread_state() {
        std::random_device rd;  // /dev/urandom on Linux
        std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
        rng.seed(seq);
        counter = static_cast<std::uint32_t>(rng() & 0x7ffff);
    }
};

void put(char* out, std::uint64_t v, int chars) {
    for (int i = chars - 1; i >= 0; --i) {
        out[i] = alphabet[v & 31u];
        v >>= 5;
    }
}

int value_of(char c) {
    for (int i = 0; i < 32; ++i)
        if (alphabet[i] == c) return i;
    return -1;
}

}  // namespace

std::string make_record_id(std::int64_t now_ms) {
    thread_local thread_state st;
    if (now_ms < 0) now_ms = 0;
    std::string id(record_id_length, '0');
    put(id.data(), static_cast<std::uint64_t>(now_ms), 10);
    // Within one millisecond the counter only moves forward; it starts low enough not to
    // wrap in practice (2^19 ids in one millisecond on one thread).
    if (now_ms != st.last_ms) {
        st.last_ms = now_ms;
        st.counter = static_cast<std::uint32_t>(st.rng() & 0x7ffff);
    } else {
        ++st.counter;
    }
    put(id.data() + 10, st.counter & 0xfffffu, 4);
    put(id.data() + 14, st.rng() >> 4, 12);
    return id;
}

std::int64_t record_id_time_ms(const std::string& id) noexcept {
    if (id.size() != record_id_length) return -1;
    std::int64_t v = 0;
    for (int i = 0; i < 10; ++i) {
        const int d = value_of(id[static_cast<std::size_t>(i)]);
        if (d < 0) return -1;
        v = v * 32 + d;
    }
    return v;
}

}  // namespace gm::metering
