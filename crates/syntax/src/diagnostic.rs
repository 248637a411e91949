//! Diagnostics shared by every stage, and their rendering for people.
//!
//! A [`Diagnostic`] is plain data: a message, a primary label (the underlined text), any
//! number of secondary labels (possibly in other files) and an optional help line.
//! [`render`] turns it into the familiar report: `file:line:col`, the source line, the
//! offending part underlined.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use crate::source::{SourceMap, Span};

/// A labelled span: what to underline and what to say under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The underlined text.
    pub span: Span,
    /// The text shown under it.
    pub text: String,
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The set is wrong (every checker diagnostic, and the lints that prove a defect).
    #[default]
    Error,
    /// Worth a look, possibly intended (lints of policy hygiene).
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A problem found in a policy set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable machine-readable code such as `writ::unknown-path`.
    pub code: &'static str,
    /// An error unless said otherwise (only lints emit warnings).
    pub severity: Severity,
    /// One lowercase sentence saying what is wrong.
    pub message: String,
    /// The main place.
    pub primary: Label,
    /// Other places that explain the problem (such as the first definition of a duplicate).
    pub secondary: Vec<Label>,
    /// What to do about it, when there is something to suggest.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a message and a primary label.
    pub fn new(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: Label {
                span,
                text: label.into(),
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// A one-line summary: `file:line:col: error: message` (or `warning:`).
    pub fn one_line(&self, sources: &SourceMap) -> String {
        format!(
            "{}: {}: {}",
            sources.locate(self.primary.span),
            self.severity.as_str(),
            self.message
        )
    }
}

/// How to render: with or without colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// Plain text (files, pipes, snapshots).
    #[default]
    Plain,
    /// ANSI colours (terminals).
    Color,
}

/// Renders diagnostics as a report, one after another.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap, style: Style) -> String {
    let theme = match style {
        Style::Plain => GraphicalTheme::unicode_nocolor(),
        Style::Color => GraphicalTheme::unicode(),
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for d in diagnostics {
        let report = Report::new(d, sources);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&d.one_line(sources));
            out.push('\n');
        }
    }
    out
}

/// A diagnostic bound to the source text of one file, in the shape miette renders.
#[derive(Debug)]
struct Report {
    message: String,
    severity: Severity,
    code: &'static str,
    help: Option<String>,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn new(d: &Diagnostic, sources: &SourceMap) -> Report {
        let file = d.primary.span.file;
        let mut labels = vec![labeled(&d.primary, true)];
        let mut related = Vec::new();
        for l in &d.secondary {
            if l.span.file == file {
                labels.push(labeled(l, false));
            } else {
                related.push(Report {
                    message: l.text.clone(),
                    severity: d.severity,
                    code: "",
                    help: None,
                    source: named(sources, l.span),
                    labels: vec![labeled(l, true)],
                    related: Vec::new(),
                });
            }
        }
        Report {
            message: d.message.clone(),
            severity: d.severity,
            code: d.code,
            help: d.help.clone(),
            source: named(sources, d.primary.span),
            labels,
            related,
        }
    }
}

fn named(sources: &SourceMap, span: Span) -> NamedSource<String> {
    match sources.get(span.file) {
        Some(f) => NamedSource::new(f.name.clone(), f.text.clone()),
        None => NamedSource::new("<unknown>", String::new()),
    }
}

fn labeled(label: &Label, primary: bool) -> LabeledSpan {
    let span = SourceSpan::new((label.span.start as usize).into(), label.span.len());
    let text = (!label.text.is_empty()).then(|| label.text.clone());
    if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.as_str()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}
