//! `binslim sbom`: describe programs, render SPDX or CycloneDX, write stdout or a file.

use std::io::Write;

use binslim::sbom::{self, SbomOptions};

use super::Status;
use crate::cli::{SbomArgs, SbomFormat};

/// Runs `sbom`.
pub fn run(args: &SbomArgs) -> Status {
    let created = match created(args.created.as_deref()) {
        Ok(t) => t,
        Err(msg) => {
            eprintln!("binslim: {msg}");
            return Status::Error;
        }
    };
    let mut opts = SbomOptions::default();
    opts.with_libs = args.with_libs;
    opts.root = args.root.clone();
    let doc = match sbom::build(&args.programs, &opts, created) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("binslim: {e}");
            return Status::Error;
        }
    };
    let bytes = match args.format {
        SbomFormat::Spdx => sbom::spdx::render(&doc),
        SbomFormat::Cyclonedx => sbom::cyclonedx::render(&doc),
    };
    match &args.output {
        None => {
            // A closed pipe is not an error.
            super::emit(&String::from_utf8_lossy(&bytes));
            Status::Ok
        }
        Some(out) => match binslim::tempfiles::write_replacing(out, |mut f| f.write_all(&bytes)) {
            Ok(()) => Status::Ok,
            Err(e) => {
                eprintln!("binslim: {}: cannot write the SBOM ({e})", out.display());
                Status::Error
            }
        },
    }
}

/// The creation time: `--created` (seconds or `now`), else SOURCE_DATE_EPOCH, else 0.
fn created(flag: Option<&str>) -> Result<u64, String> {
    if let Some(v) = flag {
        if v == "now" {
            return Ok(std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()));
        }
        return v
            .trim()
            .parse()
            .map_err(|_| format!("--created '{v}': give seconds since 1970 or 'now'"));
    }
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v
            .trim()
            .parse()
            .map_err(|_| format!("SOURCE_DATE_EPOCH='{v}' is not a number of seconds since 1970")),
        _ => Ok(0),
    }
}
