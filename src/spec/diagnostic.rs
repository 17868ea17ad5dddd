//! Problems found in the user's input, rendered as `FILE:LINE:COL` with a caret and a hint.
//!
//! Every check appends to one `Diagnostics` list instead of returning early, so a run reports all
//! the problems of a file at once. Rendering goes through miette's graphical handler; the plain
//! theme is used off a terminal, with `NO_COLOR`, and in snapshot tests.

use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{
    Diagnostic as MietteDiagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan,
    NamedSource, Severity as MietteSeverity, SourceCode, SourceSpan,
};

use super::Spanned;

/// The text of one input file, shared by every diagnostic that points into it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: String,
    text: Arc<String>,
    /// Byte offsets of line starts, computed once on first use: a file with thousands of
    /// problems must not be rescanned for each one.
    line_starts: Arc<OnceLock<Vec<usize>>>,
}

impl SourceFile {
    /// A file named `name` (as the user wrote its path) with content `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: Arc::new(text.into()),
            line_starts: Arc::new(OnceLock::new()),
        }
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(index, _)| index + 1))
                .collect()
        });
        let offset = offset.min(self.text.len());
        let line = starts.partition_point(|&start| start <= offset).max(1);
        let start = starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line, column + 1)
    }

    /// The file name shown in diagnostics.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The same file with the given byte ranges overwritten by `*`, so that a literal secret the
    /// user pasted into the file is not repeated in a CI log by a diagnostic's snippet.
    pub fn masked(&self, ranges: &[(usize, usize)]) -> Self {
        let mut bytes = self.text.as_bytes().to_vec();
        for &(start, len) in ranges {
            let end = start.saturating_add(len).min(bytes.len());
            for byte in bytes.iter_mut().take(end).skip(start) {
                // Keep line breaks so that line numbers stay right; every other byte becomes `*`,
                // which keeps all byte offsets (and so every other span) valid.
                if *byte != b'\n' && *byte != b'\r' {
                    *byte = b'*';
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Self::new(self.name.clone(), text)
    }

    /// The byte span of a located value, clamped to the file.
    pub fn span_of<T>(&self, spanned: &Spanned<T>) -> SourceSpan {
        self.span_of_location(&spanned.referenced)
    }

    /// The byte span of a location, clamped to the file. Locations without byte offsets (which the
    /// YAML reader gives only for reader input, never here) fall back to line and column.
    pub fn span_of_location(&self, location: &serde_saphyr::Location) -> SourceSpan {
        let span = location.span();
        let text_len = self.text.len();
        let (offset, len) = match (span.byte_offset(), span.byte_len()) {
            (Some(offset), Some(len)) => (offset as usize, len as usize),
            _ => (
                self.offset_of(location.line() as usize, location.column() as usize),
                1,
            ),
        };
        let offset = offset.min(text_len);
        let len = len.min(text_len - offset);
        SourceSpan::new(offset.into(), len)
    }

    /// The byte offset of a 1-based line and column (in characters), clamped to the file.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let mut offset = 0;
        for (index, text_line) in self.text.split_inclusive('\n').enumerate() {
            if index + 1 == line {
                let column_offset = text_line
                    .char_indices()
                    .nth(column.saturating_sub(1))
                    .map_or(text_line.len(), |(byte, _)| byte);
                return offset + column_offset;
            }
            offset += text_line.len();
        }
        self.text.len()
    }

    fn named_source(&self) -> NamedSource<Arc<String>> {
        NamedSource::new(self.name.clone(), Arc::clone(&self.text))
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The file cannot be used; exit 1.
    Error,
    /// The file works but something in it can never succeed; printed, exit 0.
    Warning,
}

/// One problem in the input, with where it is and what to do about it.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    severity: Severity,
    message: String,
    /// Boxed so that `Result<_, Diagnostic>` stays small on the happy path.
    location: Option<Box<(SourceFile, SourceSpan, String)>>,
    help: Option<String>,
}

impl Diagnostic {
    /// An error at `span` of `source`, with a short `label` under the caret.
    pub fn error(
        source: &SourceFile,
        span: SourceSpan,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            location: Some(Box::new((source.clone(), span, label.into()))),
            help: None,
        }
    }

    /// A warning at `span` of `source`.
    pub fn warning(
        source: &SourceFile,
        span: SourceSpan,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(source, span, message, label)
        }
    }

    /// An error that belongs to no place in a file (an unreadable file, for instance).
    pub fn error_without_location(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            help: None,
        }
    }

    /// Adds the one-line hint that says what to do.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this is an error or a warning.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `FILE:LINE:COL` of the caret, when the diagnostic has a place.
    pub fn position(&self) -> Option<String> {
        let (source, span, _) = self.location.as_deref()?;
        let (line, column) = source.line_column(span.offset());
        Some(format!("{}:{line}:{column}", source.name()))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// The miette view of a diagnostic: it needs the source as `&dyn SourceCode`, which a
/// `Diagnostic` builds on demand so that it stays cheap to clone and compare.
struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<Arc<String>>>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, formatter)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.diagnostic, formatter)
    }
}

impl std::error::Error for Rendered<'_> {}

impl MietteDiagnostic for Rendered<'_> {
    fn severity(&self) -> Option<MietteSeverity> {
        Some(match self.diagnostic.severity {
            Severity::Error => MietteSeverity::Error,
            Severity::Warning => MietteSeverity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, span, label) = self.diagnostic.location.as_deref()?;
        let label = (!label.is_empty()).then(|| label.clone());
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(label, *span),
        )))
    }
}

/// All the problems found in one run, in the order they were found.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Records every problem of another list.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// The problems, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// How many errors (not warnings) there are.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// How many warnings there are.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// Whether any error (not just warnings) was found.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Renders every diagnostic for a terminal (`color`) or for a log file, one after another.
    /// The first `FULLY_RENDERED` get a snippet with a caret; the rest one line each, so that a
    /// generated file with thousands of the same mistake stays readable (and fast to report).
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_links(false);
        // Errors first: with many problems, the ones that stop the run matter most.
        let mut ordered: Vec<&Diagnostic> = self.items.iter().collect();
        ordered.sort_by_key(|diagnostic| diagnostic.severity == Severity::Warning);
        let mut out = String::new();
        for diagnostic in ordered.iter().take(FULLY_RENDERED) {
            let rendered = Rendered {
                diagnostic,
                source: diagnostic
                    .location
                    .as_deref()
                    .map(|(source, _, _)| source.named_source()),
            };
            if handler.render_report(&mut out, &rendered).is_err() {
                // Rendering into a String cannot fail in practice; fall back to the bare message
                // so that the user still learns what went wrong.
                out.push_str(&diagnostic.message);
                out.push('\n');
            }
        }
        let rest = self.items.len().saturating_sub(FULLY_RENDERED);
        if rest > 0 {
            out.push_str(&format!("\n{rest} more, in short form:\n"));
            for diagnostic in ordered.iter().skip(FULLY_RENDERED) {
                let severity = match diagnostic.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                match diagnostic.position() {
                    Some(position) => {
                        out.push_str(&format!("{severity}: {position}: {}\n", diagnostic.message))
                    }
                    None => out.push_str(&format!("{severity}: {}\n", diagnostic.message)),
                }
            }
        }
        out
    }
}

/// How many diagnostics are drawn with a snippet before the rest are listed one per line.
const FULLY_RENDERED: usize = 20;
