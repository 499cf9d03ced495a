//! The SBOM validators from PyPI that tests/sbom.rs and tests/image_sbom.rs judge documents by:
//! spdx-tools' `pyspdxtools -i` and cyclonedx-python-lib's `JsonStrictValidator` (1.6).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::skip;

/// The Python that has the validators: `$BINSLIM_PYTHON` (set by .ci/run), else `python3`
/// on PATH; `None` (a skip, a failure in CI) when it cannot import them.
pub fn python() -> Option<PathBuf> {
    let py = std::env::var_os("BINSLIM_PYTHON")
        .map(PathBuf::from)
        .or_else(|| which::which("python3").ok());
    let ok = py.as_ref().is_some_and(|py| {
        Command::new(py)
            .args([
                "-c",
                "import spdx_tools.spdx.clitools.pyspdxtools, cyclonedx.validation.json",
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        skip(
            "the SBOM validators (spdx-tools, cyclonedx-python-lib[json-validation]) are not importable by $BINSLIM_PYTHON or python3",
        );
        return None;
    }
    py
}

/// `pyspdxtools -i FILE`: whether it passed (exit 0 and no ERROR line), and its output.
pub fn pyspdxtools(py: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(py)
        .args(["-m", "spdx_tools.spdx.clitools.pyspdxtools", "-i"])
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && !text.contains("ERROR"), text)
}

/// cyclonedx-python-lib's strict JSON validator for 1.6: `None` when valid, else the error.
pub fn cyclonedx_errors(py: &Path, file: &Path) -> Option<String> {
    let script = "import sys\n\
        from cyclonedx.validation.json import JsonStrictValidator\n\
        from cyclonedx.schema import SchemaVersion\n\
        e = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
        print('VALID' if e is None else repr(e))\n";
    let out = Command::new(py)
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() && text == "VALID" {
        None
    } else {
        Some(format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
    }
}
