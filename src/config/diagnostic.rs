//! Diagnostics as data: one type for every fault and warning `proxy.conf` can
//! have, a stable code per fault, the message apart from where it points.

use std::fmt;

use super::span::Span;

/// Declares every fault's code once: the variant, its doc, and the text after
/// `switchyard::`. `Code`, `Code::ALL` and `Code::as_str` all come from this list.
macro_rules! codes {
    ($($(#[doc = $doc:literal])* $name:ident => $text:literal,)*) => {
        /// The stable identity of a fault: users search for it, docs list it, tests
        /// and tools match on it. Never renumber or rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $name,)*
        }

        impl Code {
            /// Every code, for documentation and its tests.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The text users see and search for, `switchyard::…`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => concat!("switchyard::", $text),)*
                }
            }
        }
    };
}

codes! {
    /// The grammar could not read the file.
    Syntax => "syntax",
    /// `=` written where `==` was meant.
    SingleEquals => "single_equals",
    /// A string in single quotes.
    SingleQuotes => "single_quotes",
    /// A string that runs to the end of its line.
    UnterminatedString => "unterminated_string",
    /// A `{` that is never closed, or a block that runs into the next one.
    MissingBrace => "missing_brace",
    /// An action keyword that does not exist.
    UnknownAction => "unknown_action",
    /// The file is not UTF-8.
    NotUtf8 => "not_utf8",
    /// The file is larger than the cap.
    FileTooLarge => "file_too_large",
    /// Parentheses or `not` nested beyond the cap.
    TooDeep => "too_deep",
    /// A rule name that breaks the naming rule.
    InvalidRuleName => "invalid_rule_name",
    /// Two rules with one name.
    DuplicateRule => "duplicate_rule",
    /// A rule with no action.
    NoAction => "no_action",
    /// Two `when` lines in one rule.
    DuplicateWhen => "duplicate_when",
    /// `when` after an action.
    WhenNotFirst => "when_not_first",
    /// Two terminal actions in one rule.
    DuplicateTerminal => "duplicate_terminal",
    /// An action after the terminal one.
    ActionAfterTerminal => "action_after_terminal",
    /// A field name that does not exist.
    UnknownField => "unknown_field",
    /// `header`, `cookie` or `arg` without its `("name")`, or a plain field with one.
    FieldArgument => "field_argument",
    /// `exists` on a field other than `header`, `cookie`, `arg`.
    ExistsOnPlainField => "exists_on_plain_field",
    /// `in []`.
    EmptyList => "empty_list",
    /// A list where one string belongs, or one string where a list belongs.
    ValueShape => "value_shape",
    /// A regex the regex crate refuses.
    InvalidRegex => "invalid_regex",
    /// A regex whose compiled form exceeds the size cap.
    RegexTooBig => "regex_too_big",
    /// A named group that has a field's name.
    GroupShadowsField => "group_shadows_field",
    /// A named group defined by two regexes of one rule.
    DuplicateGroup => "duplicate_group",
    /// A client_ip value that is not an address or CIDR block.
    InvalidCidr => "invalid_cidr",
    /// A status code of the wrong shape or range.
    InvalidStatus => "invalid_status",
    /// A header name that is not an RFC 9110 token.
    InvalidHeaderName => "invalid_header_name",
    /// A header the proxy manages itself.
    ManagedHeader => "managed_header",
    /// CR, LF or NUL in a header value or target.
    HeaderValueLineBreak => "header_value_line_break",
    /// Another control character in a header value.
    InvalidHeaderValue => "invalid_header_value",
    /// `set`/`add` without a value, or `remove` with one.
    HeaderValueArity => "header_value_arity",
    /// A rewrite target that does not start with `/`.
    RewriteNotAbsolute => "rewrite_not_absolute",
    /// `{name}` that names nothing.
    UnknownTemplateName => "unknown_template_name",
    /// A numbered group where the rule does not have exactly one `~`.
    AmbiguousGroupNumber => "ambiguous_group_number",
    /// A group that the regex does not have.
    NoSuchGroup => "no_such_group",
    /// A group that may not have matched when the rule fires.
    UncertainGroup => "uncertain_group",
    /// `{` without `}` in a template, or a lone `}`.
    TemplateBrace => "template_brace",
    /// A setting that does not exist.
    UnknownSetting => "unknown_setting",
    /// A setting given twice.
    DuplicateSetting => "duplicate_setting",
    /// Two `settings` blocks.
    DuplicateSettingsBlock => "duplicate_settings_block",
    /// A setting value of the wrong type.
    InvalidSettingValue => "invalid_setting_value",
    /// A setting value outside its range.
    SettingOutOfRange => "setting_out_of_range",
    /// `on` followed by something other than `response` or `request`.
    UnknownPhase => "unknown_phase",
    /// A response field (`status` …) in a rule without `on response`.
    ResponseFieldInRequestRule => "response_field_in_request_rule",
    /// A request action (`rewrite`, `request header …`) in an `on response` rule.
    RequestActionInResponseRule => "request_action_in_response_rule",
    /// `status` compared with a string, or with an operator it does not take.
    StatusValue => "status_value",
    /// A status outside 100–599 (`==`, `!=`, lists) or 0–999 (`<` …).
    StatusOutOfRange => "status_out_of_range",
    /// A bare integer compared with a text field, or `<` on one.
    IntegerForText => "integer_for_text",
    /// `respond … file "PATH"`: no such file.
    FileBodyMissing => "file_body_missing",
    /// `respond … file "PATH"`: larger than 1 MiB.
    FileBodyTooLarge => "file_body_too_large",
    /// `respond … file "PATH"`: absolute, `..`, or a link that leads outside.
    FileBodyOutside => "file_body_outside",
    /// `respond … file "PATH"`: a directory or another non-regular file.
    FileBodyNotRegular => "file_body_not_regular",
    /// `respond … file "PATH"`: the file exists but cannot be read.
    FileBodyUnreadable => "file_body_unreadable",
    /// A list or map name that breaks the naming rule.
    InvalidListName => "invalid_list_name",
    /// Two lists or maps with one name.
    DuplicateList => "duplicate_list",
    /// A list mixing strings and bare integers.
    MixedList => "mixed_list",
    /// `$NAME` that names no list or map.
    UnknownList => "unknown_list",
    /// `{$NAME}` where NAME is a list, not a map.
    NotAMap => "not_a_map",
    /// An integer list where strings are compared, or strings with `status`.
    ListKind => "list_kind",
    /// `$NAME` after an operator other than `in` / `not in`.
    ReferenceOperator => "reference_operator",
    /// `{$NAME}` without exactly one `in $NAME` in the condition.
    UnboundMap => "unbound_map",
    /// `{$NAME}` whose `in $NAME` may not have held when the rule fires.
    UncertainMap => "uncertain_map",
    /// A key given twice in one map.
    DuplicateMapKey => "duplicate_map_key",
    /// An empty key or value in a map.
    EmptyMapEntry => "empty_map_entry",
    /// A CSV record without exactly two fields.
    CsvFieldCount => "csv_field_count",
    /// A CSV quote out of place, or one that never closes.
    CsvQuote => "csv_quote",
    /// An `include` that matches no file.
    IncludeNoMatch => "include_no_match",
    /// A file that includes itself, directly or through others.
    IncludeCycle => "include_cycle",
    /// One file included twice.
    IncludeTwice => "include_twice",
    /// A path that is absolute, holds `..`, or leads outside the config directory.
    PathOutsideConfig => "path_outside_config",
    /// A named file that is missing or not a regular file.
    FileNotFound => "file_not_found",
    /// The config with its includes and map files is larger than the cap.
    ConfigTooLarge => "config_too_large",
    /// Warning: a list or map that nothing uses.
    UnusedList => "unused_list",
    /// Warning: a map value that is itself a key of the map a redirect uses.
    MapRedirectChain => "map_redirect_chain",
    /// Warning: a map whose redirects lead back to where they started.
    MapRedirectLoop => "map_redirect_loop",
    /// A function name that does not exist (§15).
    UnknownFunction => "unknown_function",
    /// A function given a string for its field, or the wrong number of strings.
    FunctionArguments => "function_arguments",
    /// nginx's `~*`.
    CaseInsensitiveOperator => "case_insensitive_operator",
    /// `!^=`, `!$=` or `!*=`.
    NegatedOperator => "negated_operator",
    /// An empty query parameter name or pattern.
    EmptyQueryName => "empty_query_name",
    /// A test in a `.test` file whose expectation does not hold.
    TestFailed => "test_failed",
    /// A test that names a rule `proxy.conf` does not have.
    UnknownTestRule => "unknown_test_rule",
    /// Two tests with one name, in one `.test` file or across them.
    DuplicateTest => "duplicate_test",
    /// A line of a test that may be given once, given twice.
    DuplicateTestLine => "duplicate_test_line",
    /// A test's request that cannot be sent: a bad method, URL or address.
    InvalidTestRequest => "invalid_test_request",
    /// Warning: a rule below an unconditional terminal rule.
    UnreachableRule => "unreachable_rule",
    /// Warning: a redirect whose target satisfies its own condition.
    RedirectLoop => "redirect_loop",
    /// Warning: a method compared with a value that is not upper-case.
    MethodCase => "method_case",
    /// Warning: another proxy's variable (`$request_uri`, `:splat`) left as text in a template.
    ForeignVariable => "foreign_variable",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a diagnostic stops the file from loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The file is invalid.
    Error,
    /// Shown by `check` only; the file still loads.
    Warning,
}

/// A span with the words that go under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where, in bytes of the file.
    pub span: Span,
    /// What is wrong or notable there.
    pub text: String,
}

/// One fault or warning, ready to render against the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub level: Level,
    /// One line saying what is wrong, without position.
    pub message: String,
    /// The exact place (absent only for whole-file faults).
    pub primary: Option<Label>,
    /// Other places that matter ("first defined here").
    pub related: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error pointing at one span.
    pub fn error(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            level: Level::Error,
            message: message.into(),
            primary: Some(Label {
                span,
                text: label.into(),
            }),
            related: Vec::new(),
            help: None,
        }
    }

    /// An error about the whole file, with no place to point at.
    pub fn whole_file(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            level: Level::Error,
            message: message.into(),
            primary: None,
            related: Vec::new(),
            help: None,
        }
    }

    /// Turns the diagnostic into a warning.
    pub fn warning(mut self) -> Self {
        self.level = Level::Warning;
        self
    }

    /// Adds the fix.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a second place that matters.
    pub fn with_related(mut self, span: Span, text: impl Into<String>) -> Self {
        self.related.push(Label {
            span,
            text: text.into(),
        });
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// "did you mean `x`?" for the closest candidate, when one is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            (
                strsim::jaro_winkler(&word_lower, &candidate.to_ascii_lowercase()),
                candidate,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| format!("did you mean `{candidate}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["path", "host", "query"];
        assert_eq!(
            did_you_mean("paht", fields).as_deref(),
            Some("did you mean `path`?")
        );
        assert_eq!(
            did_you_mean("Host", fields).as_deref(),
            Some("did you mean `host`?")
        );
        assert_eq!(did_you_mean("zebra", fields), None);
    }

    #[test]
    fn codes_are_namespaced() {
        assert_eq!(Code::UnknownField.to_string(), "switchyard::unknown_field");
        assert_eq!(Code::RedirectLoop.as_str(), "switchyard::redirect_loop");
    }
}
