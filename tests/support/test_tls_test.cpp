#include "support/test_tls.hpp"

#include <catch2/catch.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>

namespace {
X509* load_cert(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    X509* c = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    REQUIRE(c != nullptr);
    return c;
}
}  // namespace

TEST_CASE("make_test_pki writes a CA and a server certificate that verifies for localhost and 127.0.0.1") {
    const auto& pki = gm::test::make_test_pki();
    REQUIRE(std::filesystem::exists(pki.ca_file));
    REQUIRE(std::filesystem::exists(pki.cert_file));
    REQUIRE(std::filesystem::exists(pki.key_file));
    REQUIRE(&pki == &gm::test::make_test_pki());  // made once per process

    X509* ca = load_cert(pki.ca_file);
    X509* cert = load_cert(pki.cert_file);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, cert, nullptr);
    CHECK(X509_verify_cert(ctx) == 1);
    CHECK(X509_check_host(cert, "localhost", 0, 0, nullptr) == 1);
    CHECK(X509_check_ip_asc(cert, "127.0.0.1", 0) == 1);
    CHECK(X509_check_host(cert, "example.com", 0, 0, nullptr) != 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(cert);
    X509_free(ca);
}
