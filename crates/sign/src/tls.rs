//! TLS for outgoing HTTPS: rustls with the `ring` provider (no OpenSSL, no C toolchain beyond
//! what `ring` needs). reqwest is built without a provider of its own, so one must be installed
//! for the process before the first client is built.

/// Installs rustls' `ring` crypto provider as the process default, unless some provider already
/// is (then that one is used). Safe to call any number of times, from any thread.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
