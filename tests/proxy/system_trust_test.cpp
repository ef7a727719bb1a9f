#include "proxy/system_trust.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "proxy_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_tls.hpp"

namespace {

namespace fs = std::filesystem;
using gm::proxy::add_system_trust;
using namespace gm::test;

// Sets (or unsets) an environment variable for one test and puts the old value back.
class scoped_env {
  public:
    scoped_env(const char* name, const std::optional<std::string>& value) : name_(name) {
        if (const char* old = std::getenv(name))
            old_ = old;
        if (value)
            ::setenv(name, value->c_str(), 1);
        else
            ::unsetenv(name);
    }
    ~scoped_env() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

struct x509_free {
    void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;

x509_ptr read_cert(const std::string& file) {
    FILE* f = std::fopen(file.c_str(), "r");
    REQUIRE(f);
    x509_ptr x(PEM_read_X509(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    REQUIRE(x);
    return x;
}

struct ctx_free {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
std::unique_ptr<SSL_CTX, ctx_free> new_ctx() { return std::unique_ptr<SSL_CTX, ctx_free>(SSL_CTX_new(TLS_client_method())); }

// What the handshake asks of the store: does the test server's certificate chain to a
// trusted CA?
bool verifies(SSL_CTX* ctx) {
    const auto leaf = read_cert(make_test_pki().cert_file);
    X509_STORE_CTX* sc = X509_STORE_CTX_new();
    REQUIRE(X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), leaf.get(), nullptr) == 1);
    const bool ok = X509_verify_cert(sc) == 1;
    X509_STORE_CTX_free(sc);
    return ok;
}

int certs_loaded(SSL_CTX* ctx) { return sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx))); }

// The test CA in a directory under the name update-ca-certificates would give it.
std::string hashed_ca_name() {
    char name[32];
    std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(read_cert(make_test_pki().ca_file).get()));
    return name;
}

// A directory holding the test CA under the given file name.
temp_dir dir_with_ca(const std::string& name) {
    temp_dir dir;
    fs::copy_file(make_test_pki().ca_file, dir.path() / name);
    return dir;
}

}  // namespace

TEST_CASE("a directory of CAs named by subject hash is read only when a chain needs a CA from it") {
    const temp_dir dir = dir_with_ca(hashed_ca_name());
    scoped_env no_file("SSL_CERT_FILE", std::nullopt);
    scoped_env cert_dir("SSL_CERT_DIR", dir.str());
    auto ctx = new_ctx();
    const auto trust = add_system_trust(ctx.get());
    CHECK(trust.by_hash);
    CHECK(trust.source == dir.str());
    CHECK(certs_loaded(ctx.get()) == 0);  // nothing parsed at start
    CHECK(verifies(ctx.get()));
    CHECK(certs_loaded(ctx.get()) == 1);  // the one CA the chain named
}

TEST_CASE("a CA in the hashed directory under another subject's name is not trusted") {
    const temp_dir dir = dir_with_ca("00000000.0");
    scoped_env no_file("SSL_CERT_FILE", std::nullopt);
    scoped_env cert_dir("SSL_CERT_DIR", dir.str());
    auto ctx = new_ctx();
    CHECK(add_system_trust(ctx.get()).by_hash);
    CHECK_FALSE(verifies(ctx.get()));
}

TEST_CASE("SSL_CERT_DIR as a list: the hashed directory may be any of them") {
    const temp_dir empty;
    const temp_dir dir = dir_with_ca(hashed_ca_name());
    scoped_env no_file("SSL_CERT_FILE", std::nullopt);
    scoped_env cert_dir("SSL_CERT_DIR", empty.str() + ":" + dir.str());
    auto ctx = new_ctx();
    CHECK(add_system_trust(ctx.get()).by_hash);
    CHECK(verifies(ctx.get()));
}

TEST_CASE("SSL_CERT_FILE: OpenSSL's defaults, which load that file whole") {
    // A hashed directory that must not be preferred over the named file.
    const temp_dir dir = dir_with_ca("00000000.0");
    scoped_env file("SSL_CERT_FILE", make_test_pki().ca_file);
    scoped_env cert_dir("SSL_CERT_DIR", dir.str());
    auto ctx = new_ctx();
    const auto trust = add_system_trust(ctx.get());
    CHECK_FALSE(trust.by_hash);
    CHECK(certs_loaded(ctx.get()) == 1);  // loaded at start
    CHECK(verifies(ctx.get()));
}

TEST_CASE("no hashed directory: OpenSSL's defaults, and an unknown CA is not trusted") {
    const temp_dir empty = dir_with_ca("ca.pem");  // not a hashed name
    scoped_env no_file("SSL_CERT_FILE", std::nullopt);
    scoped_env cert_dir("SSL_CERT_DIR", empty.str());
    auto ctx = new_ctx();
    CHECK_FALSE(add_system_trust(ctx.get()).by_hash);
    CHECK_FALSE(verifies(ctx.get()));
}

TEST_CASE("empty SSL_CERT_FILE and SSL_CERT_DIR count as unset") {
    scoped_env no_file("SSL_CERT_FILE", std::string{});
    scoped_env no_dir("SSL_CERT_DIR", std::string{});
    auto ctx = new_ctx();
    const auto trust = add_system_trust(ctx.get());
    // OpenSSL's default directory; by hash wherever the system keeps it hashed (Debian's
    // ca-certificates does).
    CHECK(trust.source == (trust.by_hash ? std::string(X509_get_default_cert_dir()) : "OpenSSL defaults"));
    CHECK_FALSE(verifies(ctx.get()));  // the test CA is in no system store
}

TEST_CASE("through the proxy: an upstream whose CA is only in the hashed directory is trusted, and not once it is gone") {
    temp_dir dir;
    const auto ca = dir.path() / hashed_ca_name();
    fs::copy_file(make_test_pki().ca_file, ca);
    scoped_env no_file("SSL_CERT_FILE", std::nullopt);
    scoped_env cert_dir("SSL_CERT_DIR", dir.str());
    {
        proxy_fixture f([](auto& o) { o.upstream_ca_file.clear(); });  // the system store alone
        auto c = f.client();
        c.send(raw_http_client::make_request("GET", "/v1beta/models"));
        CHECK(c.read_response().status == 200);
    }
    fs::remove(ca);
    proxy_fixture f([](auto& o) { o.upstream_ca_file.clear(); });
    auto c = f.client();
    c.send(raw_http_client::make_request("GET", "/v1beta/models"));
    CHECK(c.read_response().status == 502);  // the certificate no longer verifies
}
