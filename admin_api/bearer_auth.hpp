#pragma once
// Checks an Authorization header against the configured admin tokens. Tokens are kept
// only as SHA-256 digests and compared with CRYPTO_memcmp against every configured one,
// so the time taken depends neither on where a guess first differs nor on its length.
#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gm::admin_api {

enum class auth_result { ok, missing, malformed, wrong, not_configured };

class bearer_auth {
public:
    explicit bearer_auth(const std::vector<std::string>& tokens);

    bool configured() const noexcept { return !digests_.load()->empty(); }
    // `authorization` is the raw header value ("" when absent).
    auth_result check(std::string_view authorization) const;
    // Rotation without a restart (SIGHUP re-reads --admin-token-file): a check that began
    // before finishes against the old set. An empty set is refused (std::invalid_argument):
    // a reload must not turn authentication off.
    void replace(const std::vector<std::string>& tokens);

private:
    using digest = std::array<unsigned char, 32>;
    using digest_set = std::vector<digest>;
    static digest hash(std::string_view s);
    static std::shared_ptr<const digest_set> hash_all(const std::vector<std::string>& tokens);
    std::atomic<std::shared_ptr<const digest_set>> digests_;
};

}  // namespace gm::admin_api
