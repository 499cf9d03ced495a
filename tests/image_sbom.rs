//! `binslim image --sbom`: the SBOM of what the image holds, attached as an OCI 1.1 artifact
//! that refers to the image. Judged from outside binslim: `skopeo inspect --raw` of the layout
//! and of the registry (the image's digest, the referrers tag schema's index, the artifact by
//! digest, `skopeo copy` of it back out), `podman load` + the `podman run` line of
//! CONTAINERS.md, the SPDX and CycloneDX validators from PyPI, `go version -m` and `dpkg -S`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::registry::{Kind, Registry};
use common::validators::{cyclonedx_errors, pyspdxtools, python as validator_python};
use common::{binslim, go_tool, have_tool, podman, podman_run, skip, stdout_of, tempdir};
use serde_json::Value;

const HELLO: &str = "hello from go\n";
const EMPTY: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// A name no other test file (or run) uses.
fn unique(test: &str) -> String {
    format!("localhost/binslim-sbom-{test}-{}", std::process::id())
}

fn have_engine() -> bool {
    have_tool("podman") && have_tool("runc") && have_tool("skopeo")
}

/// skopeo with an auth file that does not exist, so the machine's credentials never take part.
fn skopeo(args: &[&str]) -> Vec<u8> {
    let none = tempdir();
    let out: Output = Command::new("skopeo")
        .env("REGISTRY_AUTH_FILE", none.path().join("none.json"))
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", common::sha256(data))
}

/// `binslim image --json ARGS` with SOURCE_DATE_EPOCH fixed: the `image` object (and `push`).
fn image(args: &[&str]) -> Value {
    let none = tempdir();
    let out = binslim()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("REGISTRY_AUTH_FILE", none.path().join("none.json"))
        .env("DOCKER_CONFIG", none.path())
        .arg("image")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out.stdout)
}

fn blob(dir: &Path, digest: &str) -> Vec<u8> {
    fs::read(
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

/// Every file of a layout directory, by path, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Validates `doc` (SPDX with pyspdxtools, CycloneDX with JsonStrictValidator).
fn validate(py: &Path, doc: &[u8], cyclonedx: bool) {
    let d = tempdir();
    let file = d.path().join("doc.json");
    fs::write(&file, doc).unwrap();
    if cyclonedx {
        assert_eq!(cyclonedx_errors(py, &file), None);
    } else {
        let (ok, text) = pyspdxtools(py, &file);
        assert!(ok, "{text}");
    }
}

/// The Go modules `go version -m` lists for the fixture (`mod` and `dep` lines): `path@version`.
fn go_modules(program: &Path) -> Vec<String> {
    let Some(go) = go_tool() else {
        return Vec::new();
    };
    let text = stdout_of(Command::new(go).args(["version", "-m"]).arg(program));
    let mut mods: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                ["mod" | "dep", path, version, ..] => Some(format!("{path}@{version}")),
                _ => None,
            }
        })
        .collect();
    mods.sort();
    mods
}

/// The artifact `index.json` lists beside the image: (its descriptor, its manifest).
fn artifact_of(dir: &Path) -> Option<(Value, Value)> {
    let index = json(&fs::read(dir.join("index.json")).unwrap());
    let d = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d.get("artifactType").is_some())?
        .clone();
    let m = json(&blob(dir, d["digest"].as_str().unwrap()));
    Some((d, m))
}

#[test]
fn an_oci_dir_holds_the_image_and_its_spdx_sbom_and_skopeo_still_picks_the_image() {
    if !have_tool("skopeo") {
        return;
    }
    let d = tempdir();
    let (with, without) = (d.path().join("with"), d.path().join("none"));
    let name = unique("dir");
    let tag = format!("{name}:1");
    let a = image(&[
        "testdata/go-static",
        "-o",
        with.to_str().unwrap(),
        "--format",
        "oci-dir",
        "--tag",
        &tag,
    ]);
    let b = image(&[
        "testdata/go-static",
        "-o",
        without.to_str().unwrap(),
        "--format",
        "oci-dir",
        "--tag",
        &tag,
        "--sbom",
        "none",
    ]);
    // The image's digest does not change because an SBOM is attached, and skopeo's
    // oci:DIR:TAG still gives the image manifest.
    assert_eq!(a["image"]["digest"], b["image"]["digest"]);
    let raw = skopeo(&["inspect", "--raw", &format!("oci:{}:{tag}", with.display())]);
    assert_eq!(sha256(&raw), a["image"]["digest"].as_str().unwrap());
    assert_eq!(
        raw,
        skopeo(&[
            "inspect",
            "--raw",
            &format!("oci:{}:{tag}", without.display())
        ])
    );
    assert!(b["image"].get("sbom").is_none());
    assert!(artifact_of(&without).is_none());

    // index.json: the image with its name, then the artifact without one.
    let index = json(&fs::read(with.join("index.json")).unwrap());
    let list = index["manifests"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0]["annotations"]["org.opencontainers.image.ref.name"],
        tag.as_str()
    );
    let (desc, m) = artifact_of(&with).unwrap();
    assert!(desc.get("annotations").is_none(), "{desc}");
    assert_eq!(desc["artifactType"], "application/spdx+json");
    assert_eq!(
        desc["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(desc["digest"], a["image"]["sbom"]["digest"]);
    // The artifact manifest: OCI 1.1 form, empty config present, subject the image manifest.
    assert_eq!(m["artifactType"], "application/spdx+json");
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(m["config"]["digest"], EMPTY);
    assert_eq!(m["config"]["size"], 2);
    assert_eq!(blob(&with, EMPTY), b"{}");
    assert_eq!(
        m["subject"]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(m["subject"]["digest"], a["image"]["digest"]);
    assert_eq!(m["subject"]["size"], raw.len());
    let layers = m["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/spdx+json");
    let doc = blob(&with, layers[0]["digest"].as_str().unwrap());
    assert_eq!(sha256(&doc), layers[0]["digest"].as_str().unwrap());
    assert_eq!(layers[0]["size"], doc.len());
    assert_eq!(a["image"]["sbom"]["document_digest"], layers[0]["digest"]);

    // The SBOM is `binslim sbom` of the program as the image names it, at SOURCE_DATE_EPOCH.
    let spdx = json(&doc);
    assert_eq!(spdx["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let files: Vec<&str> = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["packageFileName"].as_str())
        .collect();
    assert_eq!(files, ["/go-static"]);
    let want = go_modules(&common::fixture("go-static"));
    // Each Go module package (its purl pkg:golang/..., not the stdlib) as path@version, the
    // version "(devel)" where the SBOM gives none (the main module of a local build).
    let mut got: Vec<String> = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["externalRefs"].as_array().into_iter().flatten().any(|r| {
                r["referenceLocator"].as_str().is_some_and(|l| {
                    l.starts_with("pkg:golang/") && !l.starts_with("pkg:golang/stdlib")
                })
            })
        })
        .map(|p| {
            format!(
                "{}@{}",
                p["name"].as_str().unwrap(),
                p["versionInfo"].as_str().unwrap_or("(devel)")
            )
        })
        .collect();
    got.sort();
    if want.is_empty() {
        skip("go version -m (no go toolchain)");
    } else {
        assert_eq!(got, want);
    }
    if let Some(py) = validator_python() {
        validate(&py, &doc, false);
    }

    // Same inputs, same bytes.
    let again = d.path().join("again");
    image(&[
        "testdata/go-static",
        "-o",
        again.to_str().unwrap(),
        "--format",
        "oci-dir",
        "--tag",
        &tag,
    ]);
    assert_eq!(tree(&with), tree(&again));
}

#[test]
fn a_cyclonedx_sbom_validates() {
    let Some(py) = validator_python() else {
        return;
    };
    let d = tempdir();
    let out = d.path().join("oci");
    let v = image(&[
        "testdata/go-static",
        "-o",
        out.to_str().unwrap(),
        "--format",
        "oci-dir",
        "--sbom",
        "cyclonedx",
    ]);
    let (desc, m) = artifact_of(&out).unwrap();
    assert_eq!(desc["artifactType"], "application/vnd.cyclonedx+json");
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.cyclonedx+json"
    );
    assert_eq!(
        v["image"]["sbom"]["artifact_type"],
        "application/vnd.cyclonedx+json"
    );
    let doc = blob(&out, m["layers"][0]["digest"].as_str().unwrap());
    assert_eq!(json(&doc)["bomFormat"], "CycloneDX");
    validate(&py, &doc, true);
}

#[test]
fn verify_image_ignores_the_artifact() {
    let d = tempdir();
    let mut outputs = Vec::new();
    for (sbom, format) in [
        ("spdx", "oci-dir"),
        ("none", "oci-dir"),
        ("spdx", "docker"),
        ("none", "docker"),
    ] {
        let out = d.path().join(format!("{sbom}-{format}"));
        image(&[
            "testdata/go-static",
            "-o",
            out.to_str().unwrap(),
            "--format",
            format,
            "--sbom",
            sbom,
        ]);
        let v = binslim()
            .args(["verify", "--image"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(
            v.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&v.stderr)
        );
        // The same report, the output's name aside.
        let text = String::from_utf8_lossy(&v.stdout).replace(out.to_str().unwrap(), "OUT");
        outputs.push((format, text));
    }
    assert_eq!(outputs[0].1, outputs[1].1);
    assert_eq!(outputs[2].1, outputs[3].1);
    assert!(
        outputs[0].1.starts_with("PASS OUT:/go-static"),
        "{}",
        outputs[0].1
    );
}

#[test]
fn docker_and_oci_archives_load_as_one_image_under_podman_and_run() {
    if !have_engine() {
        return;
    }
    let d = tempdir();
    for format in ["docker", "oci"] {
        let name = unique(&format!("load-{format}"));
        let tag = format!("{name}:1");
        let out = d.path().join(format!("{format}.tar"));
        let v = image(&[
            "testdata/go-static",
            "-o",
            out.to_str().unwrap(),
            "--format",
            format,
            "--tag",
            &tag,
        ]);
        // The docker form lists the artifact (podman reads its manifest.json); an oci-archive
        // cannot: podman load refuses one whose index.json lists two manifests.
        assert_eq!(
            v["image"]["sbom"]["in_output"],
            format == "docker",
            "{format}"
        );
        let members = stdout_of(Command::new("tar").arg("tf").arg(&out));
        let sbom_digest = v["image"]["sbom"]["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_string();
        assert_eq!(
            members.contains(&sbom_digest),
            format == "docker",
            "{members}"
        );
        let load = podman().arg("load").arg("-i").arg(&out).output().unwrap();
        let text = String::from_utf8_lossy(&load.stdout);
        assert!(
            load.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&load.stderr)
        );
        assert_eq!(text.matches("Loaded image").count(), 1, "{format}: {text}");
        assert!(
            text.contains(&tag)
                || text.contains(
                    v["image"]["config_digest"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("sha256:")
                ),
            "{text}"
        );
        let (stdout, stderr, code) = podman_run(&tag, &[]);
        let _ = podman().args(["rmi", "-f", &tag]).output();
        assert_eq!((stdout.as_str(), code), (HELLO, 0), "{format}: {stderr}");
    }
}

#[test]
fn with_libs_the_sbom_names_the_libraries_and_their_debian_packages_as_dpkg_does() {
    if !have_tool("dpkg") || !Path::new("/var/lib/dpkg/status").is_file() {
        skip("this machine has no dpkg database");
        return;
    }
    let d = tempdir();
    let out = d.path().join("oci");
    let v = image(&[
        "testdata/c-dynamic-pie",
        "--with-libs",
        "-o",
        out.to_str().unwrap(),
        "--format",
        "oci-dir",
    ]);
    let (_, m) = artifact_of(&out).unwrap();
    let doc = json(&blob(&out, m["layers"][0]["digest"].as_str().unwrap()));
    // Every ELF file binslim bundled (the loader and the libraries) is in the SBOM.
    let bundled: Vec<String> = v["image"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let why = f["why"].as_str().unwrap();
            why.starts_with("loader of") || why.starts_with("DT_NEEDED of")
        })
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert!(bundled.len() >= 2, "{bundled:?}");
    let pkgs = doc["packages"].as_array().unwrap();
    let by_file = |path: &str| pkgs.iter().find(|p| p["packageFileName"] == path);
    let id_of = |p: &Value| p["SPDXID"].as_str().unwrap().to_string();
    let rels = doc["relationships"].as_array().unwrap();
    for path in &bundled {
        let lib = by_file(path).unwrap_or_else(|| panic!("{path} not in the SBOM"));
        // Its owner: the package that CONTAINS it, as dpkg -S says.
        let owner = rels
            .iter()
            .find(|r| {
                r["relationshipType"] == "CONTAINS"
                    && r["relatedSpdxElement"] == id_of(lib).as_str()
            })
            .unwrap_or_else(|| panic!("{path}: no package contains it"));
        let pkg = pkgs
            .iter()
            .find(|p| p["SPDXID"] == owner["spdxElementId"])
            .unwrap();
        let real = fs::canonicalize(path).unwrap();
        let s = Command::new("dpkg").arg("-S").arg(path).output().unwrap();
        let s = if s.status.success() {
            s
        } else {
            Command::new("dpkg").arg("-S").arg(&real).output().unwrap()
        };
        let line = String::from_utf8_lossy(&s.stdout);
        let name = line.split(':').next().unwrap().trim();
        assert_eq!(pkg["name"], name, "{path}");
        let version = stdout_of(Command::new("dpkg-query").args(["-W", "-f=${Version}", name]));
        assert_eq!(pkg["versionInfo"], version.as_str(), "{path}");
    }
}

#[test]
fn sbom_none_writes_exactly_what_an_image_without_one_is() {
    let d = tempdir();
    let out = d.path().join("x.tar");
    let v = image(&[
        "testdata/go-static",
        "-o",
        out.to_str().unwrap(),
        "--sbom",
        "none",
    ]);
    assert!(v["image"].get("sbom").is_none());
    let members = stdout_of(Command::new("tar").arg("tf").arg(&out));
    // The config, the manifest and the layer: nothing else.
    assert_eq!(
        members
            .lines()
            .filter(|l| l.starts_with("blobs/sha256/") && l.len() > 14)
            .count(),
        3,
        "{members}"
    );
    let index: Value =
        json(stdout_of(Command::new("tar").arg("xOf").arg(&out).arg("index.json")).as_bytes());
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
}

#[test]
fn push_puts_the_image_under_its_tag_and_the_sbom_in_the_referrers_tag_schema() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let d = tempdir();
    let out = d.path().join("oci");
    let target = reg.reference("sbom/app:1");
    let v = image(&[
        "testdata/go-static",
        "-o",
        out.to_str().unwrap(),
        "--format",
        "oci-dir",
        "--push",
        &target,
        "--insecure",
    ]);
    let digest = v["image"]["digest"].as_str().unwrap().to_string();
    let art = v["image"]["sbom"]["digest"].as_str().unwrap().to_string();
    assert_eq!(v["push"]["digest"], digest.as_str());
    assert_eq!(
        v["push"]["referrers"],
        serde_json::json!([{"artifact_type": "application/spdx+json", "digest": art, "via": "tag-schema"}])
    );
    let tls = ["--tls-verify=false"];
    let remote = |r: &str| format!("docker://{}", reg.reference(r));
    // The tag names the image.
    let raw = skopeo(&[&["inspect", "--raw"], &tls[..], &[&remote("sbom/app:1")]].concat());
    assert_eq!(sha256(&raw), digest);
    // The referrers tag schema: an index at sha256-<hex> listing the artifact.
    let schema_tag = format!("sbom/app:{}", digest.replacen(':', "-", 1));
    let list = json(&skopeo(
        &[&["inspect", "--raw"], &tls[..], &[&remote(&schema_tag)]].concat(),
    ));
    assert_eq!(list["mediaType"], "application/vnd.oci.image.index.v1+json");
    let entries = list["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["digest"], art.as_str());
    assert_eq!(entries[0]["artifactType"], "application/spdx+json");
    // The artifact by digest, and its SBOM blob read back: the one in the written layout.
    let by_digest = remote(&format!("sbom/app@{art}"));
    let m = skopeo(&[&["inspect", "--raw"], &tls[..], &[&by_digest]].concat());
    assert_eq!(sha256(&m), art);
    assert_eq!(m, blob(&out, &art));
    let m = json(&m);
    assert_eq!(m["subject"]["digest"], digest.as_str());
    let back = d.path().join("back");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &by_digest,
        &format!("oci:{}", back.display()),
    ]);
    let layer = m["layers"][0]["digest"].as_str().unwrap();
    assert_eq!(blob(&back, layer), blob(&out, layer));
    // The registry's blob endpoint gives the same bytes.
    let name = reg.reference("sbom/app");
    let repo = name.split_once('/').unwrap().1;
    let resp = reg
        .get_raw(&format!("/v2/{repo}/blobs/{layer}"), &[])
        .unwrap();
    let body = resp.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(body.as_bytes(), blob(&out, layer).as_slice());

    // A second push adds nothing twice: the tag schema lists the artifact once.
    let again = image(&["testdata/go-static", "--push", &target, "--insecure"]);
    assert_eq!(again["push"]["digest"], digest.as_str());
    assert_eq!(again["push"]["referrers"][0]["digest"], art.as_str());
    let list = json(&skopeo(
        &[&["inspect", "--raw"], &tls[..], &[&remote(&schema_tag)]].concat(),
    ));
    assert_eq!(list["manifests"].as_array().unwrap().len(), 1, "{list}");

    // binslim push of the written layout: the image under the tag and the referrer too.
    let out2 = binslim()
        .env("REGISTRY_AUTH_FILE", d.path().join("none.json"))
        .env("DOCKER_CONFIG", d.path())
        .args(["push", "--json", "--insecure"])
        .arg(&out)
        .arg(reg.reference("sbom/other:2"))
        .output()
        .unwrap();
    assert_eq!(
        out2.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out2.stderr)
    );
    let p = json(&out2.stdout);
    assert_eq!(p["push"]["digest"], digest.as_str());
    assert_eq!(p["push"]["referrers"][0]["digest"], art.as_str());
    let raw = skopeo(&[&["inspect", "--raw"], &tls[..], &[&remote("sbom/other:2")]].concat());
    assert_eq!(sha256(&raw), digest);
    let other_tag = format!("sbom/other:{}", digest.replacen(':', "-", 1));
    let list = json(&skopeo(
        &[&["inspect", "--raw"], &tls[..], &[&remote(&other_tag)]].concat(),
    ));
    assert_eq!(list["manifests"][0]["digest"], art.as_str());
}

#[test]
fn a_multi_platform_image_pushes_its_sbom_with_the_index_as_subject() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let target = reg.reference("sbom/multi:1");
    let v = image(&[
        "testdata/go-static",
        "testdata/arm64-static",
        "--path",
        "/app",
        "--push",
        &target,
        "--insecure",
    ]);
    let index = v["image"]["digest"].as_str().unwrap().to_string();
    let art = v["image"]["sbom"]["digest"].as_str().unwrap().to_string();
    let tls = "--tls-verify=false";
    let remote = |r: &str| format!("docker://{}", reg.reference(r));
    let raw = skopeo(&["inspect", "--raw", tls, &remote("sbom/multi:1")]);
    assert_eq!(sha256(&raw), index);
    let m = json(&skopeo(&[
        "inspect",
        "--raw",
        tls,
        &remote(&format!("sbom/multi@{art}")),
    ]));
    assert_eq!(
        m["subject"],
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index,
            "size": raw.len()
        })
    );
    let list = json(&skopeo(&[
        "inspect",
        "--raw",
        tls,
        &remote(&format!("sbom/multi:{}", index.replacen(':', "-", 1))),
    ]));
    assert_eq!(list["manifests"][0]["digest"], art.as_str());
    assert_eq!(list["manifests"].as_array().unwrap().len(), 1);
    // The document describes both platforms' programs, each at /app.
    let layer = m["layers"][0]["digest"].as_str().unwrap();
    let name = reg.reference("sbom/multi");
    let repo = name.split_once('/').unwrap().1;
    let resp = reg
        .get_raw(&format!("/v2/{repo}/blobs/{layer}"), &[])
        .unwrap();
    let doc = json(resp.split_once("\r\n\r\n").unwrap().1.as_bytes());
    let files: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["packageFileName"].as_str())
        .collect();
    assert_eq!(files, ["/app", "/app"]);
}

#[test]
fn a_program_whose_sbom_cannot_be_made_writes_no_image_and_exits_2() {
    if !have_tool("objcopy") {
        return;
    }
    let d = tempdir();
    // rust-static with a .dep-v0 section that is not zlib data.
    let sec = d.path().join("dep.bin");
    fs::write(&sec, b"not zlib at all").unwrap();
    let prog = d.path().join("app");
    let st = Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".dep-v0={}", sec.display()))
        .arg(common::fixture("rust-static"))
        .arg(&prog)
        .status()
        .unwrap();
    assert!(st.success());
    let out = d.path().join("app.tar");
    let r = binslim()
        .arg("image")
        .arg(&prog)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the SBOM of the image (--sbom none builds without one): ")
            && err.contains("cargo-auditable data (.dep-v0) not valid zlib data"),
        "{err}"
    );
    assert!(!out.exists());
    // --sbom none builds it.
    let r = binslim()
        .arg("image")
        .arg(&prog)
        .arg("-o")
        .arg(&out)
        .args(["--sbom", "none"])
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}
