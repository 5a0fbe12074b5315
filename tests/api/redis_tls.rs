//! `rediss://`: guichet verifies the Redis server's certificate and host name, trusting the
//! system's roots and the private CAs of `GUICHET_REDIS_CA_FILE`. The test makes its own CA and
//! server certificate and runs its own TLS `redis-server` (PostgreSQL + Redis tier only).

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use crate::helpers::*;

/// A private CA and a certificate for `localhost` it signed: the PEM files in `dir`.
fn write_certificates(dir: &Path) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "guichet test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

/// A node on `url` trusting `ca_file` (beside the system's roots), or why it did not start.
async fn node(url: String, ca_file: Option<std::path::PathBuf>) -> anyhow::Result<TestApp> {
    try_spawn_with(Options {
        redis_url: Some(url),
        configure: Some(Box::new(move |s| s.redis_ca_file = ca_file)),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_verifies_the_server_certificate_against_the_ca_file_and_the_host_name() {
    if !redis_tier("redis_tls") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_certificates(dir.path());
    let port = free_port();
    let file = |name: &str| dir.path().join(name).display().to_string();
    let _redis = OwnRedisProcess::start(
        port,
        &[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &file("server.pem"),
            "--tls-key-file",
            &file("server.key"),
            "--tls-ca-cert-file",
            &file("ca.pem"),
            "--tls-auth-clients",
            "no",
        ],
        dir.path(),
    )
    .await;
    let ca = dir.path().join("ca.pem");

    // Trusted through the CA file: alice signs in and the code is exchanged for tokens.
    let app = node(format!("rediss://localhost:{port}"), Some(ca.clone()))
        .await
        .unwrap_or_else(|e| panic!("did not start over TLS: {e:#}"));
    let (app, client) = with_alice_and(app, "rp1").await;
    let (code, verifier) = pkce_code(&app, &client, "openid").await;
    let tokens = redeem_ok(&app, &client, &code, &verifier).await;
    assert!(tokens["id_token"].is_string());
    // single use over TLS too
    let res = redeem(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(res.status(), 400);

    // Without the CA file the certificate is not trusted: start-up stops.
    let error = node(format!("rediss://localhost:{port}"), None)
        .await
        .err()
        .expect("started with an untrusted certificate");
    let message = format!("{error:#}");
    assert!(message.contains("GUICHET_REDIS_URL"), "{message}");
    assert!(message.contains("UnknownIssuer"), "{message}");

    // A certificate for another name (localhost, reached as 127.0.0.1) is refused as well.
    let error = node(format!("rediss://127.0.0.1:{port}"), Some(ca.clone()))
        .await
        .err()
        .expect("accepted a certificate for another host name");
    let message = format!("{error:#}");
    assert!(message.contains("not valid for name"), "{message}");

    // `guichet check-config` checks the same way.
    let url = format!("rediss://localhost:{port}");
    let ca_path = ca.display().to_string();
    let store = check_config_store(
        dir.path(),
        &[
            ("GUICHET_REDIS_URL", &url),
            ("GUICHET_REDIS_CA_FILE", &ca_path),
        ],
    )
    .await;
    assert_eq!(store["ok"], true, "{store}");
    assert_eq!(store["detail"]["tls"], true, "{store}");
    assert_eq!(store["detail"]["ca_file"], ca_path.as_str(), "{store}");
    let store = check_config_store(dir.path(), &[("GUICHET_REDIS_URL", &url)]).await;
    assert_eq!(store["ok"], false, "{store}");
    assert!(
        store["error"].as_str().unwrap().contains("UnknownIssuer"),
        "{store}"
    );

    // A CA file that holds no certificate stops start-up with the setting's name.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let error = node(format!("rediss://localhost:{port}"), Some(junk))
        .await
        .err()
        .expect("started with an empty CA file");
    assert!(format!("{error:#}").contains("GUICHET_REDIS_CA_FILE"));
}
