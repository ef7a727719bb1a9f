#pragma once
// A certificate authority and a server certificate for 127.0.0.1 and localhost, made at
// test time with the OpenSSL API (no `openssl` command, no files in the repository that
// could expire). The fake Gemini upstream serves the server certificate; the proxy under
// test trusts ca_file through --upstream-ca-file.
#include <string>

namespace gm::test {

struct test_pki {
    std::string dir;        // the temporary directory holding the files below
    std::string ca_file;    // PEM: the CA certificate (trust anchor)
    std::string cert_file;  // PEM: server certificate, SAN DNS:localhost, IP:127.0.0.1
    std::string key_file;   // PEM: the server's private key (unencrypted)
};

// Made once per process (key generation is the slow part) and removed at exit.
// Throws std::runtime_error when OpenSSL fails.
const test_pki& make_test_pki();

}  // namespace gm::test
