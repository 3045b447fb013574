//! The certificate the LAN listener shows browser guests (docs/PROTOCOL.md,
//! "Guests over HTTPS" [ext]).
//!
//! Browsers give camera and microphone only to secure contexts, and a page
//! from `http://192.168.1.20:7878` is not one; so the node speaks TLS on its LAN
//! port too, with a self-signed certificate. No browser trusts it: a guest
//! accepts the warning once and can compare the SHA-256 fingerprint the host
//! sees with the one the browser shows. The fingerprint is the certificate's
//! identity, so the certificate is made on first start and kept in the data
//! directory: the same one (and fingerprint) on every later start, until it
//! nears its end of validity.
//!
//! Validity is 397 days: browsers and Apple's TLS stack refuse server
//! certificates valid for longer, trusted or not. A certificate with less than
//! 30 days left is replaced at start (guests then see a new fingerprint, which
//! the log says).

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// File names inside the data directory.
const CERT_FILE: &str = "guest-cert.pem";
const KEY_FILE: &str = "guest-key.pem";

/// Days a new certificate is valid (the most browsers accept).
const VALID_DAYS: i64 = 397;
/// A stored certificate with fewer days left than this is replaced at start.
const RENEW_DAYS: i64 = 30;

/// Why the guest certificate could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CertificateError {
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the TLS library refused the certificate: {0}")]
    Tls(#[from] rustls::Error),
}

/// The node's guest certificate, ready to serve.
#[derive(Clone)]
pub(crate) struct GuestTls {
    pub(crate) acceptor: TlsAcceptor,
    /// SHA-256 of the certificate (DER), as browsers show it: `AB:CD:…`.
    pub(crate) fingerprint: String,
}

impl std::fmt::Debug for GuestTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestTls")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Loads the certificate kept in `dir`, or makes one there (for `names`, the
/// addresses guests will use) when there is none, it cannot be read, or it is
/// near its end.
pub(crate) fn load_or_create(dir: &Path, names: &[IpAddr]) -> Result<GuestTls, CertificateError> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let (cert, key) = match load(&cert_path, &key_path) {
        Some(Stored::Usable(cert, key)) => (cert, key),
        found => {
            match found {
                Some(Stored::Expiring) => tracing::warn!(
                    path = %cert_path.display(),
                    "the guest certificate is near its end; making a new one (guests will see a new fingerprint)"
                ),
                Some(Stored::Unreadable) => tracing::warn!(
                    path = %cert_path.display(),
                    "the guest certificate cannot be read; making a new one (guests will see a new fingerprint)"
                ),
                _ => tracing::info!(path = %cert_path.display(), "making the guest certificate"),
            }
            create(dir, &cert_path, &key_path, names)?
        }
    };
    let fingerprint = fingerprint(&cert);
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)?;
    // The listener speaks HTTP/1.1 only (with upgrades to the peer socket).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(GuestTls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        fingerprint,
    })
}

enum Stored {
    Usable(CertificateDer<'static>, PrivateKeyDer<'static>),
    Expiring,
    Unreadable,
}

/// `None` when there is no stored certificate at all.
fn load(cert_path: &Path, key_path: &Path) -> Option<Stored> {
    let cert_pem = fs::read(cert_path).ok();
    let key_pem = fs::read(key_path).ok();
    let (cert_pem, key_pem) = match (cert_pem, key_pem) {
        (None, None) => return None,
        (Some(cert), Some(key)) => (cert, key),
        _ => return Some(Stored::Unreadable),
    };
    let (Ok(cert), Ok(key)) = (
        CertificateDer::from_pem_slice(&cert_pem),
        PrivateKeyDer::from_pem_slice(&key_pem),
    ) else {
        return Some(Stored::Unreadable);
    };
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(&cert) else {
        return Some(Stored::Unreadable);
    };
    let left = parsed.validity().not_after.to_datetime() - time::OffsetDateTime::now_utc();
    if left < time::Duration::days(RENEW_DAYS) {
        return Some(Stored::Expiring);
    }
    Some(Stored::Usable(cert, key))
}

fn create(
    dir: &Path,
    cert_path: &Path,
    key_path: &Path,
    names: &[IpAddr],
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), CertificateError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CertificateError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    // The addresses at creation; a guest using another one sees the same warning
    // (no browser trusts this certificate for any name) and the same fingerprint.
    params
        .subject_alt_names
        .extend(names.iter().map(|ip| SanType::IpAddress(*ip)));
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, "lanmeet guest certificate");
    subject.push(DnType::OrganizationName, "lanmeet");
    params.distinguished_name = subject;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    // A day back: a guest's clock a little behind still accepts it.
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALID_DAYS);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    // Key first: a certificate on disk always has its key.
    write_private(key_path, key.serialize_pem().as_bytes()).map_err(io(key_path))?;
    write_private(cert_path, cert.pem().as_bytes()).map_err(io(cert_path))?;
    let key_der = PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| CertificateError::Tls(rustls::Error::General(format!("the new key: {e}"))))?;
    Ok((cert.der().clone(), key_der))
}

/// Writes `bytes` to `path` through a temporary file and a rename (a crash
/// leaves the old file or the new one, not half of one), readable by the owner
/// only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("pem.tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}

/// SHA-256 of `cert` as uppercase hex pairs joined by colons, the form
/// Firefox and Chromium's certificate viewers show.
fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("lanmeet-guest-tls-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn made_once_then_reused() {
        let dir = temp_dir("reuse");
        let ip: IpAddr = [192, 168, 1, 20].into();
        let first = load_or_create(&dir, &[ip]).unwrap();
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        let second = load_or_create(&dir, &[]).unwrap();
        assert_eq!(first.fingerprint, second.fingerprint);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_certificate_is_replaced() {
        let dir = temp_dir("damaged");
        let first = load_or_create(&dir, &[]).unwrap();
        fs::write(dir.join(CERT_FILE), b"not a certificate").unwrap();
        let second = load_or_create(&dir, &[]).unwrap();
        assert_ne!(first.fingerprint, second.fingerprint);
        let third = load_or_create(&dir, &[]).unwrap();
        assert_eq!(second.fingerprint, third.fingerprint);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fingerprints_read_as_browsers_show_them() {
        let cert = CertificateDer::from(b"abc".to_vec());
        assert_eq!(
            fingerprint(&cert),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}
