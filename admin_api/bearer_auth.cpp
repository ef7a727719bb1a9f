#include "admin_api/bearer_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <stdexcept>

namespace gm::admin_api {

bearer_auth::digest bearer_auth::hash(std::string_view s) {
    digest d{};
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
    return d;
}

std::shared_ptr<const bearer_auth::digest_set> bearer_auth::hash_all(const std::vector<std::string>& tokens) {
    auto set = std::make_shared<digest_set>();
    for (const auto& t : tokens)
        if (!t.empty()) set->push_back(hash(t));
    return set;
}

bearer_auth::bearer_auth(const std::vector<std::string>& tokens) : digests_(hash_all(tokens)) {}

void bearer_auth::replace(const std::vector<std::string>& tokens) {
    auto set = hash_all(tokens);
    if (set->empty()) throw std::invalid_argument("no admin token given");
    digests_.store(std::move(set));
}

auth_result bearer_auth::check(std::string_view authorization) const {
    const auto digests = digests_.load();
    if (digests->empty()) return auth_result::not_configured;
    if (authorization.empty()) return auth_result::missing;
    // RFC 7235: the scheme is case-insensitive.
    constexpr std::string_view scheme = "bearer";
    if (authorization.size() <= scheme.size() + 1) return auth_result::malformed;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return auth_result::malformed;
    if (authorization[scheme.size()] != ' ') return auth_result::malformed;
    std::string_view token = authorization.substr(scheme.size() + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) return auth_result::malformed;
    const digest presented = hash(token);
    // No early exit: every configured token is compared.
    int matched = 0;
    for (const auto& d : *digests) matched |= CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0;
    return matched ? auth_result::ok : auth_result::wrong;
}

}  // namespace gm::admin_api
