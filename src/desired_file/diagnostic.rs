//! Problems found in the user's input, rendered as `FILE:LINE:COL` with a caret and a hint.
//!
//! Every check appends to one `Diagnostics` list instead of returning early, so a run reports all
//! the problems of a file at once. Rendering goes through miette's graphical handler; the plain
//! theme is used off a terminal, with `NO_COLOR`, and in snapshot tests.
//!
//! Output stays small whatever the input: a value quoted in a message is cut short (`quote`), every
//! message is capped, and a snippet shows a window of its lines (`Excerpt`), never a whole
//! multi-megabyte line.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{
    Diagnostic as MietteDiagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan,
    MietteError, MietteSpanContents, Severity as MietteSeverity, SourceCode, SourceSpan,
    SpanContents,
};

use super::{Spanned, limits};

/// `text` quoted in backticks for a message: whole when short, otherwise its first
/// `limits::QUOTED` characters, `…`, and its length: `` `aaaa…` (20,000,000 characters)``.
pub fn quote(text: &str) -> String {
    quote_with(text, '`')
}

/// `quote` with another quotation mark (`"` for names that come from a package).
pub fn quote_with(text: &str, mark: char) -> String {
    match short(text) {
        Cow::Borrowed(text) => format!("{mark}{text}{mark}"),
        Cow::Owned(cut) => format!(
            "{mark}{cut}{mark} ({} characters)",
            thousands(text.chars().count())
        ),
    }
}

/// `text` whole when short, otherwise its first `limits::QUOTED` characters and `…`: for a value
/// shown inside an example (`write \`NAME: { env: … }\``), where its length would be in the way.
pub fn short(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(limits::QUOTED) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

/// `20000000` → `20,000,000`.
pub fn thousands(number: impl fmt::Display) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The longest message, label or hint a diagnostic keeps. Values are quoted short at the place
/// that quotes them; this cap is the safety net for text that comes from elsewhere (the YAML
/// reader's messages, a package's list of recipes).
const MAX_TEXT_CHARS: usize = 2_000;

fn capped(text: String) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        None => text,
        Some((cut, _)) => format!(
            "{}… ({} characters)",
            &text[..cut],
            thousands(text.chars().count())
        ),
    }
}

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

    /// The byte offsets at which lines start (the first is 0).
    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(index, _)| index + 1))
                .collect()
        })
    }

    /// The 0-based index of the line that holds byte `offset`.
    fn line_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.line_starts()
            .partition_point(|&start| start <= offset)
            .saturating_sub(1)
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let starts = self.line_starts();
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
        // Nothing to mask (the usual case): share the text rather than copy a file of megabytes.
        if ranges.is_empty() {
            return self.clone();
        }
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
            message: capped(message.into()),
            location: Some(Box::new((source.clone(), span, capped(label.into())))),
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
            message: capped(message.into()),
            location: None,
            help: None,
        }
    }

    /// Adds the one-line hint that says what to do.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(capped(help.into()));
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
    source: Option<Excerpt>,
}

/// How many lines of context miette shows before and after the caret's line.
const CONTEXT_LINES: usize = 1;

/// A snippet line longer than this (in characters) is cut to a window around the caret.
const MAX_SNIPPET_LINE_CHARS: usize = 200;

/// A cut line keeps this much of itself before the caret when the caret is further in…
const KEPT_BEFORE_CARET: usize = 40;

/// …and keeps its start whole when the caret is at most this far in.
const KEPT_LINE_START: usize = 80;

/// A label that spans more lines than this is drawn on its first line only.
const MAX_LABEL_LINES: usize = 5;

/// The few lines around a diagnostic's span that its snippet shows, each cut to a window when it
/// is long, so that a 20 MB line is neither copied nor printed. It reports the lines and the
/// column of the full file, so the snippet reads as if miette had been given the whole file.
struct Excerpt {
    name: String,
    text: String,
    /// The 0-based line of the file that `text` starts with.
    first_line: usize,
    /// The label's span, in `text`.
    span: SourceSpan,
    /// The 0-based column (in bytes, as miette counts) of the span in the file.
    column: usize,
}

impl Excerpt {
    fn new(source: &SourceFile, span: SourceSpan) -> Self {
        let full = source.text();
        let starts = source.line_starts();
        let offset = span.offset().min(full.len());
        let end = offset.saturating_add(span.len()).min(full.len());
        let caret_line = source.line_index(offset);
        let end_line = source.line_index(end.saturating_sub(1).max(offset));
        let clip_to_caret_line = end_line - caret_line > MAX_LABEL_LINES;
        let last_label_line = if clip_to_caret_line {
            caret_line
        } else {
            end_line
        };
        let first_line = caret_line.saturating_sub(CONTEXT_LINES);
        // One more line than miette shows after the span, which it ignores: it keeps the end of
        // the excerpt from looking like the end of the file.
        let last_line = (last_label_line + CONTEXT_LINES + 1).min(starts.len() - 1);
        let line_of = |index: usize| {
            let start = starts[index];
            let stop = starts.get(index + 1).copied().unwrap_or(full.len());
            (start, &full[start..stop])
        };
        let mut text = String::new();
        let mut cut_any = false;
        let mut caret = (0, 0);
        for index in first_line..=last_line {
            let (start, line) = line_of(index);
            let content = line.trim_end_matches(['\n', '\r']);
            let ending = &line[content.len()..];
            let long = content.len() > MAX_SNIPPET_LINE_CHARS
                && content.char_indices().nth(MAX_SNIPPET_LINE_CHARS).is_some();
            if index == caret_line {
                // A span from the YAML reader starts on a character; should one not, the window
                // starts at the character it is in rather than cut a character in two.
                let mut at = (offset - start).min(content.len());
                while !content.is_char_boundary(at) {
                    at -= 1;
                }
                if long {
                    cut_any = true;
                    let before = &content[..at];
                    if before.char_indices().nth(KEPT_LINE_START).is_some() {
                        let keep_from = before
                            .char_indices()
                            .rev()
                            .nth(KEPT_BEFORE_CARET - 1)
                            .map_or(0, |(byte, _)| byte);
                        text.push('…');
                        text.push_str(&before[keep_from..]);
                    } else {
                        text.push_str(before);
                    }
                    let after = &content[at..];
                    let (kept, more) = match after.char_indices().nth(limits::QUOTED) {
                        Some((cut, _)) => (&after[..cut], true),
                        None => (after, false),
                    };
                    caret = (text.len(), kept.len());
                    text.push_str(kept);
                    if more {
                        text.push('…');
                    }
                } else {
                    caret = (text.len() + (offset - start), content.len() - at);
                    text.push_str(content);
                }
            } else if long {
                cut_any = true;
                let cut = content
                    .char_indices()
                    .nth(KEPT_LINE_START)
                    .map_or(content.len(), |(byte, _)| byte);
                text.push_str(&content[..cut]);
                text.push('…');
            } else {
                text.push_str(content);
            }
            text.push_str(ending);
        }
        let span = if cut_any || clip_to_caret_line {
            // The label ends with the caret's line (as much of it as is shown).
            SourceSpan::new(caret.0.into(), (end - offset).min(caret.1))
        } else {
            SourceSpan::new((offset - starts[first_line]).into(), end - offset)
        };
        // miette counts a CRLF as one line break: a span between its two bytes is at the `\r`.
        let column = offset - starts[caret_line];
        let column = if full.as_bytes().get(offset) == Some(&b'\n')
            && column > 0
            && full.as_bytes().get(offset - 1) == Some(&b'\r')
        {
            column - 1
        } else {
            column
        };
        Self {
            name: source.name().to_owned(),
            text,
            first_line,
            span,
            column,
        }
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_bytes()
                .read_span(span, context_lines_before, context_lines_after)?;
        // Read at the label's start without context, miette wants the column of the label, which
        // the cut line no longer has: give the file's.
        let column = if context_lines_before == 0 && inner.span().offset() == self.span.offset() {
            self.column
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
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
        let (_, _, label) = self.diagnostic.location.as_deref()?;
        let span = self.source.as_ref()?.span;
        let label = (!label.is_empty()).then(|| label.clone());
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(label, span),
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
                    .map(|(source, span, _)| Excerpt::new(source, *span)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_quoted_short() {
        assert_eq!(quote("acme"), "`acme`");
        let long = "a".repeat(20_000_000);
        let quoted = quote(&long);
        assert_eq!(
            quoted,
            format!("`{}…` (20,000,000 characters)", "a".repeat(limits::QUOTED))
        );
        assert_eq!(quote_with("Get file", '"'), "\"Get file\"");
        assert_eq!(short(&long).chars().count(), limits::QUOTED + 1);
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(20_000_000), "20,000,000");
    }

    #[test]
    fn messages_are_capped() {
        let source = SourceFile::new("f.yaml", "a: b\n");
        let diagnostic = Diagnostic::error(&source, (0, 1).into(), "x".repeat(100_000), "y")
            .with_help("z".repeat(100_000));
        assert!(diagnostic.message().chars().count() < MAX_TEXT_CHARS + 40);
        assert!(diagnostic.message().ends_with("(100,000 characters)"));
        assert!(Diagnostics::from_one(diagnostic).render(false).len() < 3 * MAX_TEXT_CHARS);
    }

    impl Diagnostics {
        fn from_one(diagnostic: Diagnostic) -> Self {
            let mut diagnostics = Self::new();
            diagnostics.push(diagnostic);
            diagnostics
        }
    }

    /// What miette draws when given the whole file, without excerpts.
    fn render_whole(source: &SourceFile, span: SourceSpan, label: &str) -> String {
        struct Whole<'a>(&'a SourceFile, SourceSpan, &'a str);
        impl fmt::Debug for Whole<'_> {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("whole")
            }
        }
        impl fmt::Display for Whole<'_> {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("problem")
            }
        }
        impl std::error::Error for Whole<'_> {}
        impl MietteDiagnostic for Whole<'_> {
            fn source_code(&self) -> Option<&dyn SourceCode> {
                Some(self.0.text.as_ref() as &dyn SourceCode)
            }
            fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
                Some(Box::new(std::iter::once(
                    LabeledSpan::new_primary_with_span(Some(self.2.to_owned()), self.1),
                )))
            }
        }
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .with_links(false);
        let mut out = String::new();
        handler
            .render_report(&mut out, &Whole(source, span, label))
            .expect("renders");
        // The whole-file rendering names no file; the excerpt does.
        out.replace("╭─[", &format!("╭─[{}:", source.name()))
    }

    fn render_excerpt(source: &SourceFile, span: SourceSpan, label: &str) -> String {
        let diagnostic = Diagnostic::error(source, span, "problem", label);
        Diagnostics::from_one(diagnostic).render(false)
    }

    /// For lines of ordinary length, the excerpt is invisible: the snippet is exactly what miette
    /// draws from the whole file, at every place of it.
    #[test]
    fn short_lines_render_as_from_the_whole_file() {
        let text = "version: 1\ncustomers:\n  - external_id: a\n    name: Ä b\n\n    notification_email: x\r\nlast";
        let source = SourceFile::new("f.yaml", text);
        for offset in 0..=text.len() {
            if !text.is_char_boundary(offset) {
                continue;
            }
            for len in [0, 1, 3, 20, 45] {
                let len = len.min(text.len() - offset);
                if !text.is_char_boundary(offset + len) {
                    continue;
                }
                let span = SourceSpan::new(offset.into(), len);
                assert_eq!(
                    render_excerpt(&source, span, "here"),
                    render_whole(&source, span, "here"),
                    "offset {offset}, length {len}"
                );
            }
        }
    }

    /// A caret deep in a multi-megabyte line: the snippet is a short window of it, and the header
    /// still gives the line and column in the file.
    #[test]
    fn long_lines_are_cut_to_a_window_around_the_caret() {
        let text = format!("a: 1\nb: [{}oops]\nc: 3\n", "x, ".repeat(1_000_000));
        let offset = text.find("oops").expect("in the text");
        let source = SourceFile::new("f.yaml", text.as_str());
        let rendered = render_excerpt(&source, SourceSpan::new(offset.into(), 4), "here");
        assert!(rendered.len() < 1_000, "{rendered}");
        let column = offset - text.find("b:").expect("in the text") + 1;
        assert!(
            rendered.contains(&format!("[f.yaml:2:{column}]")),
            "{rendered}"
        );
        assert!(rendered.contains("x, oops]"), "{rendered}");
        assert!(rendered.contains(" 1 │ a: 1"), "{rendered}");
        assert!(rendered.contains(" 3 │ c: 3"), "{rendered}");
    }

    /// A span that starts inside a character of a long line neither panics nor cuts it in two.
    #[test]
    fn a_span_inside_a_character_of_a_long_line_is_drawn() {
        let text = format!("k: {}\n", "é".repeat(1_000));
        let source = SourceFile::new("f.yaml", text.as_str());
        for offset in [4, 5, 1_001, 2_002] {
            let rendered = render_excerpt(&source, SourceSpan::new(offset.into(), 3), "here");
            assert!(rendered.len() < 1_000, "{rendered}");
            assert!(rendered.contains("[f.yaml:1:"), "{rendered}");
        }
    }

    /// A span over many long lines is drawn on its first line only, as far as that line is shown.
    #[test]
    fn a_span_over_long_lines_is_drawn_on_its_first() {
        let text = format!(
            "k: |\n  {}\n  {}\nz: 1\n",
            "y".repeat(500_000),
            "w".repeat(500_000)
        );
        let offset = text.find('|').expect("in the text");
        let source = SourceFile::new("f.yaml", text.as_str());
        let rendered = render_excerpt(
            &source,
            SourceSpan::new(offset.into(), text.len() - offset),
            "all",
        );
        assert!(rendered.len() < 1_000, "{rendered}");
        assert!(rendered.contains("[f.yaml:1:4]"), "{rendered}");
    }
}
