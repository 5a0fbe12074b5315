#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::folder::write_secret_file;
use super::material::Public;
use super::*;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::sync::OnceLock;

/// One default generation (the only RSA key generation most tests need): file name, mode, bytes.
fn template() -> &'static Vec<(String, u32, Vec<u8>)> {
    static TEMPLATE: OnceLock<Vec<(String, u32, Vec<u8>)>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        Keys::load_or_generate(&dir).unwrap();
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.file_name().into_string().unwrap();
                let mode = e.metadata().unwrap().permissions().mode() & 0o777;
                (name, mode, fs::read(e.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    })
}

/// A fresh folder holding a copy of the template's files.
fn fresh() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (name, _, bytes) in template().iter().filter(|(n, _, _)| !n.starts_with('.')) {
        write_secret_file(tmp.path(), name, bytes).unwrap();
    }
    tmp
}

fn header(token: &str) -> Value {
    let h = token.split('.').next().unwrap();
    serde_json::from_slice(&B64.decode(h).unwrap()).unwrap()
}

fn jwks(set: &KeySet) -> Vec<Value> {
    let v: Value = serde_json::from_slice(set.jwks_json()).unwrap();
    v["keys"].as_array().unwrap().clone()
}

fn kid_of(set: &KeySet, alg: Alg) -> String {
    set.list().into_iter().find(|(_, a)| *a == alg).unwrap().0
}

fn claims() -> Value {
    json!({"iss": "https://idp.example", "sub": "248289761001", "exp": 4102444800u64, "n": "ü\"<"})
}

#[test]
fn default_generation_creates_es256_rs256_eddsa_hmac_mode_0600() {
    let files = template();
    let names: Vec<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert_eq!(names[0], ".lock");
    let visible = &files[1..];
    let prefixes: Vec<&str> = visible
        .iter()
        .map(|(n, _, _)| n.split('-').next().unwrap())
        .collect();
    assert_eq!(prefixes, ["ES256", "EdDSA", "RS256", "hmac"]);
    for (name, mode, bytes) in visible {
        assert_eq!(*mode, 0o600, "{name}");
        if name.ends_with(".pem") {
            let text = std::str::from_utf8(bytes).unwrap();
            assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{name}");
            assert!(!text.contains('\r'));
        } else {
            let raw = B64.decode(bytes).unwrap();
            assert_eq!(raw.len(), 32);
        }
    }
    let dir = fresh();
    let set = Keys::load_or_generate(dir.path()).unwrap().current();
    assert_eq!(set.algs(), [Alg::RS256, Alg::ES256, Alg::EdDSA]);
    let hmac_file = &visible[3].2;
    assert_eq!(&B64.decode(hmac_file).unwrap()[..], set.hmac_secret());
}

#[test]
fn kid_is_rfc7638_thumbprint() {
    // RFC 7638 section 3.1
    let example = Public::Rsa {
        n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
        e: "AQAB".into(),
    };
    assert_eq!(
        example.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );

    let dir = fresh();
    rotate(dir.path(), Alg::EdDSA).unwrap();
    let set = Keys::load_or_generate(dir.path()).unwrap().current();
    let keys = jwks(&set);
    assert_eq!(keys.len(), 4);
    for jwk in &keys {
        let required: &[&str] = match jwk["kty"].as_str().unwrap() {
            "EC" => &["crv", "kty", "x", "y"],
            "RSA" => &["e", "kty", "n"],
            "OKP" => &["crv", "kty", "x"],
            other => panic!("kty {other}"),
        };
        let members: BTreeMap<&str, &Value> = required.iter().map(|m| (*m, &jwk[*m])).collect();
        let canonical = serde_json::to_string(&members).unwrap();
        let expected = B64.encode(Sha256::digest(canonical.as_bytes()));
        assert_eq!(jwk["kid"], expected.as_str());
    }
    let listed: Vec<String> = set.list().into_iter().map(|(k, _)| k).collect();
    let published: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(listed, published);
}

#[test]
fn sign_verify_round_trip_each_alg_and_interop() {
    let dir = fresh();
    let (ed_kid, _) = rotate(dir.path(), Alg::EdDSA).unwrap();
    let keys = Keys::load_or_generate(dir.path()).unwrap();
    let set = keys.current();
    assert_eq!(set.algs(), [Alg::RS256, Alg::ES256, Alg::EdDSA]);
    assert_eq!(kid_of(&set, Alg::EdDSA), ed_kid);
    let jwk_set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(set.jwks_json()).unwrap();
    for alg in [Alg::RS256, Alg::ES256, Alg::EdDSA] {
        for typ in [None, Some("at+jwt"), Some("JWT")] {
            let token = set.sign(alg, typ, &claims()).unwrap();
            let h = header(&token);
            assert_eq!(h["alg"], alg.as_str());
            assert_eq!(h["kid"], kid_of(&set, alg).as_str());
            assert_eq!(h.get("typ").and_then(Value::as_str), typ);
            assert_eq!(h.as_object().unwrap().len(), 2 + usize::from(typ.is_some()));
            let (got_typ, got): (Option<String>, Value) = set.verify(&token).unwrap();
            assert_eq!(got_typ.as_deref(), typ);
            assert_eq!(got, claims());

            // a third-party library verifies it against the published JWKS
            let jwk = jwk_set.find(h["kid"].as_str().unwrap()).unwrap();
            let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
            let mut validation = jsonwebtoken::Validation::new(super::jwt_alg(alg));
            validation.validate_aud = false;
            let data = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
            assert_eq!(data.claims, claims());
        }
    }
    // and we verify a token made by a third-party library with our key file
    let (name, _, pem_bytes) = template()
        .iter()
        .find(|(n, _, _)| n.starts_with("ES256"))
        .unwrap();
    assert!(name.ends_with(".pem"));
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    h.kid = Some(kid_of(&set, Alg::ES256));
    let enc = jsonwebtoken::EncodingKey::from_ec_pem(pem_bytes).unwrap();
    let token = jsonwebtoken::encode(&h, &claims(), &enc).unwrap();
    let (typ, got): (Option<String>, Value) = set.verify(&token).unwrap();
    assert_eq!((typ.as_deref(), got), (Some("JWT"), claims()));
}

#[test]
fn foreign_tampered_none_and_confused_tokens_fail() {
    let dir = fresh();
    let set = Keys::load_or_generate(dir.path()).unwrap().current();
    let other_dir = tempfile::tempdir().unwrap();
    rotate(other_dir.path(), Alg::ES256).unwrap();
    // keys present: only the HMAC secret is generated (no RSA)
    let other = Keys::load_or_generate(other_dir.path()).unwrap().current();
    assert_eq!(other.algs(), [Alg::ES256]);
    assert_ne!(other.hmac_secret(), set.hmac_secret());

    let foreign = other.sign(Alg::ES256, None, &claims()).unwrap();
    assert!(matches!(
        set.verify::<Value>(&foreign),
        Err(KeyError::UnknownKid(_))
    ));

    // the foreign signature under our kid
    let es_kid = kid_of(&set, Alg::ES256);
    let forged_header = B64.encode(json!({"alg": "ES256", "kid": es_kid}).to_string());
    let rest = foreign.split_once('.').unwrap().1;
    let forged = format!("{forged_header}.{rest}");
    assert!(matches!(
        set.verify::<Value>(&forged),
        Err(KeyError::BadSignature(_))
    ));

    // a modified payload
    let good = set.sign(Alg::ES256, None, &claims()).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let payload = B64.encode(json!({"sub": "admin"}).to_string());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert!(matches!(
        set.verify::<Value>(&tampered),
        Err(KeyError::BadSignature(_))
    ));

    // alg none, with or without a signature
    for alg in ["none", "None"] {
        let h = B64.encode(json!({"alg": alg, "kid": es_kid}).to_string());
        for token in [
            format!("{h}.{}.", parts[1]),
            format!("{h}.{}.{}", parts[1], parts[2]),
        ] {
            assert!(matches!(
                set.verify::<Value>(&token),
                Err(KeyError::AlgNotAccepted(_))
            ));
        }
    }
    // HS256 keyed with public material, and ES256 header on the RSA key
    let rs_kid = kid_of(&set, Alg::RS256);
    for (alg, kid) in [("HS256", &rs_kid), ("ES256", &rs_kid), ("RS256", &es_kid)] {
        let h = B64.encode(json!({"alg": alg, "kid": kid}).to_string());
        let token = format!("{h}.{}.{}", parts[1], parts[2]);
        assert!(matches!(
            set.verify::<Value>(&token),
            Err(KeyError::AlgMismatch { .. })
        ));
    }
    // crit, no kid, malformed
    let h = B64.encode(json!({"alg": "ES256", "kid": es_kid, "crit": ["exp"]}).to_string());
    let crit = format!("{h}.{}.{}", parts[1], parts[2]);
    let h = B64.encode(json!({"alg": "ES256"}).to_string());
    let no_kid = format!("{h}.{}.{}", parts[1], parts[2]);
    let padded = format!("{}=.{}.{}", parts[0], parts[1], parts[2]);
    for bad in [
        crit,
        no_kid,
        padded,
        "a.b".into(),
        format!("{good}.x"),
        "..".into(),
        "".into(),
    ] {
        assert!(
            matches!(set.verify::<Value>(&bad), Err(KeyError::Malformed(_))),
            "{bad}"
        );
    }
    // a signature check passes but the claims do not fit the type
    assert!(matches!(
        set.verify::<Vec<u8>>(&good),
        Err(KeyError::Claims(_))
    ));
}

#[test]
fn jwks_has_public_members_only() {
    let dir = fresh();
    rotate(dir.path(), Alg::EdDSA).unwrap();
    let set = Keys::load_or_generate(dir.path()).unwrap().current();
    let allowed = ["kty", "crv", "x", "y", "n", "e", "kid", "use", "alg"];
    for jwk in jwks(&set) {
        let obj = jwk.as_object().unwrap();
        for member in obj.keys() {
            assert!(allowed.contains(&member.as_str()), "{member} in {jwk}");
        }
        assert_eq!(jwk["use"], "sig");
        let (kty, alg, n) = match jwk["alg"].as_str().unwrap() {
            "ES256" => ("EC", "P-256", 7),
            "RS256" => ("RSA", "", 6),
            "EdDSA" => ("OKP", "Ed25519", 6),
            other => panic!("{other}"),
        };
        assert_eq!(jwk["kty"], kty);
        assert_eq!(obj.len(), n, "{jwk}");
        if !alg.is_empty() {
            assert_eq!(jwk["crv"], alg);
        }
    }
    let text = std::str::from_utf8(set.jwks_json()).unwrap();
    for private in [
        "\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\"",
    ] {
        assert!(!text.contains(private), "{private}");
    }
}

#[test]
fn rotate_signs_with_new_key_and_retire_removes_old() {
    let dir = fresh();
    let keys = Keys::load_or_generate(dir.path()).unwrap();
    let before = keys.current();
    let old_kid = kid_of(&before, Alg::ES256);
    let old_token = before.sign(Alg::ES256, None, &claims()).unwrap();

    let (new_kid, alg) = rotate(dir.path(), Alg::ES256).unwrap();
    let (newer_kid, _) = rotate(dir.path(), Alg::ES256).unwrap();
    assert_eq!(alg, Alg::ES256);
    assert_ne!(new_kid, old_kid);
    let mut stamps: Vec<u64> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_prefix("ES256-")?
                .strip_suffix(".pem")?
                .parse()
                .ok()
        })
        .collect();
    stamps.sort();
    assert_eq!(stamps.len(), 3);
    assert!(stamps[0] < stamps[1] && stamps[1] < stamps[2], "{stamps:?}");

    // the old set still signs with the old key until the reload
    assert_eq!(
        header(&keys.current().sign(Alg::ES256, None, &1).unwrap())["kid"],
        old_kid.as_str()
    );
    keys.reload().unwrap();
    let after = keys.current();
    let token = after.sign(Alg::ES256, None, &claims()).unwrap();
    assert_eq!(header(&token)["kid"], newer_kid.as_str());
    let es: Vec<String> = after
        .list()
        .into_iter()
        .filter(|(_, a)| *a == Alg::ES256)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(es, [newer_kid.clone(), new_kid.clone(), old_kid.clone()]);
    assert_eq!(jwks(&after).len(), 5);
    assert!(after.verify::<Value>(&old_token).is_ok());

    retire(dir.path(), &old_kid).unwrap();
    retire(dir.path(), &new_kid).unwrap();
    keys.reload().unwrap();
    let retired = keys.current();
    assert_eq!(retired.list().len(), 3);
    assert!(!String::from_utf8_lossy(retired.jwks_json()).contains(&old_kid));
    assert!(matches!(
        retired.verify::<Value>(&old_token),
        Err(KeyError::UnknownKid(_))
    ));
    assert!(matches!(
        retire(dir.path(), &old_kid),
        Err(KeyError::UnknownKid(_))
    ));

    // the last key of every algorithm stays: a client may sign with it
    let rs_kid = kid_of(&retired, Alg::RS256);
    let first_ed_kid = kid_of(&retired, Alg::EdDSA);
    for kid in [&newer_kid, &rs_kid, &first_ed_kid] {
        let err = retire(dir.path(), kid).unwrap_err();
        assert!(matches!(err, KeyError::LastKeyOfAlg { .. }), "{err}");
        assert!(err.to_string().contains(kid.as_str()));
    }
    let (ed_kid, _) = rotate(dir.path(), Alg::EdDSA).unwrap();
    retire(dir.path(), &first_ed_kid).unwrap();
    keys.reload().unwrap();
    assert_eq!(keys.current().list().len(), 3);
    assert_eq!(kid_of(&keys.current(), Alg::EdDSA), ed_kid);
}

#[test]
fn concurrent_first_start_generates_one_key_per_alg() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("keys");
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || Keys::load_or_generate(&dir).unwrap().current())
        })
        .collect();
    let sets: Vec<Arc<KeySet>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(sets[0].list(), sets[1].list());
    assert_eq!(sets[0].hmac_secret(), sets[1].hmac_secret());
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .map(|n| n.split('-').next().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["ES256", "EdDSA", "RS256", "hmac"]);
    let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn odd_files_are_skipped_and_failed_reload_keeps_old_set() {
    let dir = fresh();
    let keys = Keys::load_or_generate(dir.path()).unwrap();
    let first = keys.current();
    keys.reload().unwrap();
    assert!(
        Arc::ptr_eq(&first, &keys.current()),
        "unchanged folder is not re-parsed"
    );

    let p = dir.path();
    fs::write(p.join("ES256-9999999999.pem"), "garbage").unwrap();
    let rsa_pem = &template()
        .iter()
        .find(|(n, _, _)| n.starts_with("RS256"))
        .unwrap()
        .2;
    fs::write(p.join("EdDSA-9999999999.pem"), rsa_pem).unwrap(); // wrong key type
    fs::write(p.join("README"), "hello").unwrap();
    fs::write(p.join("RS256-12ab.pem"), "x").unwrap();
    fs::write(p.join(".gitignore"), "*").unwrap();
    fs::create_dir(p.join("sub")).unwrap();
    // the same key under a second name is published once
    let es_name = &template()
        .iter()
        .find(|(n, _, _)| n.starts_with("ES256"))
        .unwrap()
        .0;
    fs::copy(p.join(es_name), p.join("ES256-1.pem")).unwrap();
    keys.reload().unwrap();
    let set = keys.current();
    assert_eq!(set.list(), first.list());
    assert_eq!(set.jwks_json(), first.jwks_json());

    // reload errors keep the old set
    let hmac_name = &template()
        .iter()
        .find(|(n, _, _)| n.starts_with("hmac"))
        .unwrap()
        .0;
    fs::rename(p.join(hmac_name), p.join("hmac-backup")).unwrap();
    assert!(matches!(keys.reload(), Err(KeyError::NoHmacSecret(_))));
    fs::write(p.join("hmac-5.key"), "c2hvcnQ").unwrap();
    let err = keys.reload().unwrap_err();
    assert!(err.to_string().contains("hmac-5.key"), "{err}");
    assert!(Arc::ptr_eq(&set, &keys.current()));
    assert!(set.sign(Alg::RS256, None, &claims()).is_ok());
    // the EdDSA file of the wrong key type was skipped: the generated EdDSA key still signs
    let ed = set.sign(Alg::EdDSA, None, &claims()).unwrap();
    assert_eq!(header(&ed)["kid"], kid_of(&first, Alg::EdDSA).as_str());

    // the newest HMAC secret wins
    fs::remove_file(p.join("hmac-5.key")).unwrap();
    fs::write(p.join("hmac-6.key"), format!("{}\n", B64.encode([7u8; 32]))).unwrap();
    keys.reload().unwrap();
    assert_eq!(keys.current().hmac_secret(), &[7u8; 32]);
}

#[test]
fn alg_names() {
    for alg in Alg::ALL {
        assert_eq!(Alg::parse(alg.as_str()), Some(alg));
        assert_eq!(serde_json::to_value(alg).unwrap(), alg.as_str());
        assert_eq!(format!("{:?}", super::jwt_alg(alg)), alg.as_str());
    }
    assert_eq!(Alg::parse("es256"), None);
    assert_eq!(Alg::parse("none"), None);
}

/// Writes the test fixtures: `GUICHET_KEY_FIXTURES=tests/fixtures/keys cargo test -- --ignored write_fixtures`
#[test]
#[ignore]
fn write_fixtures() {
    let Ok(dir) = std::env::var("GUICHET_KEY_FIXTURES") else {
        eprintln!("GUICHET_KEY_FIXTURES not set, nothing written");
        return;
    };
    let keys = Keys::load_or_generate(Path::new(&dir)).unwrap();
    let _ = fs::remove_file(Path::new(&dir).join(".lock"));
    eprintln!("{:?}", keys.current().list());
}

/// `cargo test -- --ignored --nocapture bench_sign`
#[test]
#[ignore]
fn bench_sign() {
    let dir = fresh();
    let set = Keys::load_or_generate(dir.path()).unwrap().current();
    let n = 20_000;
    let claims = json!({"iss": "https://idp.example", "sub": "client", "aud": "api",
        "exp": 4102444800u64, "iat": 1700000000, "jti": "0190a0a0-0000-7000-8000-000000000000",
        "scope": "read write", "client_id": "client"});
    for alg in [Alg::ES256, Alg::RS256] {
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(set.sign(alg, Some("at+jwt"), &claims).unwrap());
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        eprintln!("KeySet::sign {alg}: {rate:.0}/s");
    }
    let token = set.sign(Alg::ES256, None, &claims).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(set.verify::<Value>(&token).unwrap());
    }
    eprintln!(
        "KeySet::verify ES256: {:.0}/s",
        n as f64 / start.elapsed().as_secs_f64()
    );
    let pem_bytes = &template()
        .iter()
        .find(|(n, _, _)| n.starts_with("ES256"))
        .unwrap()
        .2;
    let enc = jsonwebtoken::EncodingKey::from_ec_pem(pem_bytes).unwrap();
    let h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(jsonwebtoken::encode(&h, &claims, &enc).unwrap());
    }
    eprintln!(
        "jsonwebtoken::encode ES256 (kept EncodingKey): {:.0}/s",
        n as f64 / start.elapsed().as_secs_f64()
    );
}
