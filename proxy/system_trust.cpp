#include "proxy/system_trust.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace gm::proxy {

namespace {

// c_rehash / update-ca-certificates names: eight hex digits of the subject hash, a dot, a
// sequence number ("5ad8a5d6.0").
bool is_hashed_name(std::string_view name) {
    if (name.size() < 10 || name[8] != '.')
        return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool ok = i < 8 ? (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') : i == 8 || (c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

bool has_hashed_entries(std::string_view dirs) {
    // A list, as OpenSSL reads SSL_CERT_DIR: separated by ':'.
    while (!dirs.empty()) {
        const auto sep = dirs.find(':');
        const std::filesystem::path dir(dirs.substr(0, sep));
        dirs = sep == std::string_view::npos ? std::string_view{} : dirs.substr(sep + 1);
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
            if (is_hashed_name(it->path().filename().string()))
                return true;
    }
    return false;
}

}  // namespace

system_trust add_system_trust(ssl_ctx_st* ctx) {
    // Empty counts as unset, so that a parent can clear them for a child it starts.
    const char* file_env = std::getenv(X509_get_default_cert_file_env());
    const char* dir_env = std::getenv(X509_get_default_cert_dir_env());
    const std::string dirs = dir_env && *dir_env ? dir_env : X509_get_default_cert_dir();
    if (!(file_env && *file_env) && has_hashed_entries(dirs)) {
        X509_LOOKUP* lookup = X509_STORE_add_lookup(SSL_CTX_get_cert_store(ctx), X509_LOOKUP_hash_dir());
        if (!lookup || X509_LOOKUP_add_dir(lookup, dirs.c_str(), X509_FILETYPE_PEM) != 1)
            throw std::runtime_error("cannot use the system's CA directory " + dirs);
        return {dirs, true};
    }
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        throw std::runtime_error("cannot load the system's CA certificates");
    return {"OpenSSL defaults", false};
}

}  // namespace gm::proxy
