#pragma once
// The system's trusted CAs for the upstream's certificate chain. Where the system keeps a
// directory of CAs named by subject hash (Debian's /etc/ssl/certs), OpenSSL is pointed at
// that directory only and reads a CA when a chain names it; OpenSSL's own default also
// parses the whole bundle file at start (~140 certificates, ~0.65 MB of heap for the life
// of the process, for the one or two CAs Google's chain needs).
#include <string>

struct ssl_ctx_st;

namespace gm::proxy {

struct system_trust {
    std::string source;  // the directory searched, or "OpenSSL defaults"
    bool by_hash = false;  // CAs read on demand by subject hash, not loaded whole
};

// SSL_CERT_FILE set, or no hashed directory found (SSL_CERT_DIR, else OpenSSL's default
// directory): OpenSSL's defaults, as before. An empty variable counts as unset. Throws
// std::runtime_error when OpenSSL fails.
system_trust add_system_trust(ssl_ctx_st* ctx);

}  // namespace gm::proxy
