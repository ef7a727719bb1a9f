#pragma once
// Checks an Authorization header against the configured admin tokens. Tokens are kept
// only as SHA-256 digests and compared with CRYPTO_memcmp against every configured one,
// so the time taken depends neither on where a guess first differs nor on its length.
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace gm::admin_api {

enum class auth_result { ok, missing, malformed, wrong, not_configured };

class bearer_auth {
public:
    explicit bearer_auth(const std::vector<std::string>& tokens);

    bool configured() const noexcept { return !digests_.empty(); }
    // `authorization` is the raw header value ("" when absent).
    auth_result check(std::string_view authorization) const;

private:
    using digest = std::array<unsigned char, 32>;
    static digest hash(std::string_view s);
    std::vector<digest> digests_;
};

}  // namespace gm::admin_api
