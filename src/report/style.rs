//! Terminal colour, on only when asked for or when writing to a terminal without `NO_COLOR`.

/// Whether to wrap text in ANSI colour codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Emit colour codes.
    pub color: bool,
}

impl Style {
    /// A style with colour on or off.
    pub fn new(color: bool) -> Self {
        Style { color }
    }

    fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Bold text.
    pub fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
    /// Good news (green).
    pub fn good(self, s: &str) -> String {
        self.paint("32", s)
    }
    /// Bad news (bold red).
    pub fn bad(self, s: &str) -> String {
        self.paint("1;31", s)
    }
    /// A caution (yellow).
    pub fn warn(self, s: &str) -> String {
        self.paint("33", s)
    }
    /// Secondary text (dim).
    pub fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }
}
