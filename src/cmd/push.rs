//! `binslim push`: the reference parsed, the local image read as a [`Pushable`]
//! (`registry::source`), pushed (`registry::push`), and the report rendered (`report::push`,
//! or `{"push": ...}` with `--json`). Every failure exits 2 with one line on stderr.

use std::path::Path;

use binslim::image::read::{ImageSource, Limits};
use binslim::registry::client::Options;
use binslim::registry::reference::Reference;
use binslim::registry::{PushReport, push, source};
use binslim::report::{self, Style, json};
use serde::Serialize;

use super::{Status, emit};
use crate::cli::PushArgs;

/// The `--json` document.
#[derive(Serialize)]
struct JsonReport<'a> {
    push: &'a PushReport,
}

/// Runs `push`.
pub fn run(args: &PushArgs, style: Style) -> Status {
    // The reference first: a typo costs no read of a large archive (or of stdin).
    let to = match Reference::parse(&args.reference) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("binslim: {e}");
            return Status::Error;
        }
    };
    let (source, name) = if args.image == Path::new("-") {
        (ImageSource::Stdin, "standard input".to_string())
    } else {
        (
            ImageSource::Path(args.image.clone()),
            args.image.display().to_string(),
        )
    };
    // `_spool` holds a copy of a stream until the push is over.
    let (image, _spool) = match source::read_pushable(&source, &Limits::default()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("binslim: {name}: {e}");
            return Status::Error;
        }
    };
    let opts = Options {
        insecure: args.insecure,
        mount_from: args.mount_from.clone(),
    };
    match push::push(&image, &to, &opts) {
        Ok(report) => {
            let text = if args.json {
                json::to_string(&JsonReport { push: &report })
            } else {
                report::push::render(&report, style)
            };
            emit(&text);
            Status::Ok
        }
        Err(e) => {
            eprintln!("binslim: {}", report::push::failure(&to, &e));
            Status::Error
        }
    }
}
