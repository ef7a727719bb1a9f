#include "test_tls.hpp"

#include "temp_dir.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace gm::test {
namespace {

struct pkey_free { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct x509_free { void operator()(X509* p) const { X509_free(p); } };
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

[[noreturn]] void fail(const char* what) {
    char buf[256] = {0};
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    throw std::runtime_error(std::string("test pki: ") + what + ": " + buf);
}

pkey_ptr make_key() {
    // P-256 keys are generated in milliseconds, unlike RSA.
    pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) fail("EVP_PKEY_Q_keygen");
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) fail("X509V3_EXT_conf_nid");
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (!ok) fail("X509_add_ext");
}

x509_ptr make_cert(EVP_PKEY* key, const char* cn, long serial, X509* issuer, EVP_PKEY* issuer_key,
                   bool is_ca) {
    x509_ptr cert(X509_new());
    if (!cert) fail("X509_new");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    // Valid from an hour ago, so that a clock a little behind does not reject it.
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 30);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("gemini-meter tests"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509* signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    if (is_ca) {
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
    } else {
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
        add_ext(cert.get(), signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
        add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    }
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) fail("X509_sign");
    return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw std::runtime_error("test pki: cannot write " + path);
    const int ok = cert ? PEM_write_X509(f, cert)
                        : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    if (!ok) fail("PEM_write");
}

struct pki_holder {
    temp_dir dir{"gm-pki-"};
    test_pki pki;
};

}  // namespace

const test_pki& make_test_pki() {
    // Function-local static: made on first use, removed by its destructor at exit.
    static const pki_holder holder = [] {
        pki_holder h;
        pkey_ptr ca_key = make_key();
        x509_ptr ca = make_cert(ca_key.get(), "gemini-meter test CA", 1, nullptr, ca_key.get(), true);
        pkey_ptr key = make_key();
        x509_ptr cert = make_cert(key.get(), "localhost", 2, ca.get(), ca_key.get(), false);
        h.pki.dir = h.dir.str();
        h.pki.ca_file = h.dir.file("ca.pem");
        h.pki.cert_file = h.dir.file("server.pem");
        h.pki.key_file = h.dir.file("server.key");
        write_pem(h.pki.ca_file, ca.get(), nullptr);
        write_pem(h.pki.cert_file, cert.get(), nullptr);
        write_pem(h.pki.key_file, nullptr, key.get());
        return h;
    }();
    return holder.pki;
}

}  // namespace gm::test
