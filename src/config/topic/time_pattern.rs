//! A hand-written subset of Java's `DateTimeFormatter.ofPattern`, for the `date-time` computed
//! query parameters of http-poller topics (`since=<last success instant>` formatted with a
//! pattern such as `yyyy-MM-dd'T'HH:mm:ssXXX`). Streams topic definitions carry Java patterns,
//! so the output has to be Java's, character for character. No Rust crate does Java patterns
//! well (chrono and jiff format strftime-style `%Y-%m-%d`), hence this hand-written module; jiff
//! only does the instant-to-civil-time arithmetic.
//!
//! Supported, with Java's rules (formatting in `Locale.ROOT` at a fixed offset):
//! - `y`/`u` (year of era / proleptic year): `yy` is the last two digits; any other count
//!   1..=19 is the minimum width (`yyyy` pads to 4, `yyyyy` to 5); a negative proleptic year
//!   (`u`) prints `-`; with four letters or more a year wider than the count prints `+` (in
//!   jiff's range only year -9999, year 10000 of its era: `yyyy` prints `+10000`).
//! - `M` `MM`, `d` `dd`, `H` `HH`, `h` `hh` (1..12), `m` `mm`, `s` `ss`: one letter is the bare
//!   number, two pad to two digits; `a` is `AM`/`PM`.
//! - `S` x 1..=9: that many digits of the fraction of second, truncated (`SSS` = milliseconds).
//! - offsets: `X` `XX` `XXX` `XXXX` `XXXXX` (print `Z` at zero), `x`.. `xxxxx` (never `Z`: `+00`,
//!   `+0000`, `+00:00`), `Z` `ZZ` `ZZZ` (`+0000` form), `ZZZZZ` (like `XXXXX`). The short forms
//!   drop what they cannot show as Java does: `X` prints `+0530` for +05:30 but `+01` for
//!   +01:00, and an offset of a few seconds prints as zero (`Z`) in `X`, `XX` and `XXX`.
//! - literals: `'text'`, `''` for a quote (also inside quoted text: `'o''clock'`), and any
//!   character that is not an ASCII letter; `[` and `]` (Java's optional sections) print nothing,
//!   since every field here is always available.
//!
//! Refused at parse time: letters outside the subset (text fields such as `MMM` and `E`, zone
//! names, `Q`, `G`, `n`, `VV`, localized `ZZZZ`/`O`, week fields, padding `p`), counts Java
//! rejects (`ddd`, `aa`, `SSSSSSSSSS`, twenty `y`), an unterminated quote, `]` without `[`, and
//! Java's reserved `{`, `}`, `#`.
//!
//! The expectations in `tests/data/time_patterns.json` come from real Java (JDK 17):
//! `tests/data/gen/TimePatterns.java` regenerates them (see the command at its top).

use std::fmt;

use jiff::Timestamp;
use jiff::tz::Offset;

/// The Streams default pattern of `date-time` computed query parameters.
pub const DEFAULT_PATTERN: &str = "yyyy-MM-dd'T'HH:mm:ssXXX";

/// A parsed pattern, ready to format instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimePattern {
    source: String,
    items: Vec<Item>,
}

/// Why a pattern was refused. Positions count characters from 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A letter outside the supported subset (or a count of it that the subset leaves out,
    /// like `MMM`), whether Java knows it or not.
    #[error("{}", letters_message("unsupported", *letter, *count, *position))]
    UnsupportedLetter {
        letter: char,
        count: usize,
        position: usize,
    },
    /// More repetitions of a letter than Java accepts (`ddd`, `aa`, ten `S`).
    #[error("{}", letters_message("too many", *letter, *count, *position))]
    TooManyLetters {
        letter: char,
        count: usize,
        position: usize,
    },
    /// A `'` that opens quoted text never closed.
    #[error("unterminated quote at {position}")]
    UnterminatedQuote { position: usize },
    /// `{`, `}` or `#`, which Java reserves.
    #[error("reserved pattern character '{character}' at {position}")]
    ReservedCharacter { character: char, position: usize },
    /// A `]` closing no optional section.
    #[error("']' without a preceding '[' at {position}")]
    UnmatchedBracket { position: usize },
}

fn letters_message(what: &str, letter: char, count: usize, position: usize) -> String {
    if count == 1 {
        format!("{what} pattern letter '{letter}' at {position}")
    } else {
        let run: String = std::iter::repeat_n(letter, count).collect();
        format!("{what} pattern letters '{run}' at {position}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Literal(String),
    /// `y` (year of era) or `u` (proleptic year), count other than 2.
    Year {
        of_era: bool,
        width: usize,
    },
    /// `yy` or `uu`: the last two digits.
    TwoDigitYear {
        of_era: bool,
    },
    Month {
        width: usize,
    },
    Day {
        width: usize,
    },
    Hour24 {
        width: usize,
    },
    /// `h`: 1..12.
    Hour12 {
        width: usize,
    },
    AmPm,
    Minute {
        width: usize,
    },
    Second {
        width: usize,
    },
    Fraction {
        digits: u32,
    },
    Offset(OffsetForm),
}

/// One of Java's offset printers: `style` is the index of its pattern in
/// `OffsetIdPrinterParser.PATTERNS` ("+HH", "+HHmm", "+HH:mm", "+HHMM", "+HH:MM", "+HHMMss",
/// "+HH:MM:ss"); lower-case parts print only when not zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OffsetForm {
    style: u8,
    zero: &'static str,
}

impl OffsetForm {
    /// `X`.. `XXXXX` and `x`.. `xxxxx`: Java's `PATTERNS[count + (count == 1 ? 0 : 1)]`.
    fn for_count(count: usize, zero: &'static str) -> OffsetForm {
        let style = if count == 1 { 1 } else { count as u8 + 1 };
        OffsetForm { style, zero }
    }

    fn colon(self) -> bool {
        self.style > 0 && self.style.is_multiple_of(2)
    }

    /// Java's `OffsetIdPrinterParser.format` for the padded-hour styles 0..=8.
    fn write(self, total_seconds: i32, out: &mut String) {
        if total_seconds == 0 {
            out.push_str(self.zero);
            return;
        }
        let hours = (total_seconds / 3600 % 100).unsigned_abs();
        let minutes = (total_seconds / 60 % 60).unsigned_abs();
        let seconds = (total_seconds % 60).unsigned_abs();
        let start = out.len();
        out.push(if total_seconds < 0 { '-' } else { '+' });
        push_padded(out, u64::from(hours), 2);
        let mut shown = hours;
        let style = self.style;
        if (3..=8).contains(&style) || (style >= 1 && minutes > 0) {
            if self.colon() {
                out.push(':');
            }
            push_padded(out, u64::from(minutes), 2);
            shown += minutes;
            if style == 7 || style == 8 || (style >= 5 && seconds > 0) {
                if self.colon() {
                    out.push(':');
                }
                push_padded(out, u64::from(seconds), 2);
                shown += seconds;
            }
        }
        if shown == 0 {
            // Everything printed was zero (an offset of a few seconds): Java prints the zero text.
            out.truncate(start);
            out.push_str(self.zero);
        }
    }
}

impl TimePattern {
    /// Parses a Java `DateTimeFormatter` pattern of the supported subset.
    pub fn parse(pattern: &str) -> Result<TimePattern, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut items = Vec::new();
        let mut literal = String::new();
        let mut optional_depth = 0usize;
        let mut pos = 0;
        while pos < chars.len() {
            let cur = chars[pos];
            if cur.is_ascii_alphabetic() {
                let start = pos;
                while pos < chars.len() && chars[pos] == cur {
                    pos += 1;
                }
                let item = field(cur, pos - start, start)?;
                if !literal.is_empty() {
                    items.push(Item::Literal(std::mem::take(&mut literal)));
                }
                items.push(item);
                continue;
            }
            match cur {
                '\'' => {
                    let start = pos;
                    pos += 1;
                    let mut text = String::new();
                    loop {
                        match chars.get(pos) {
                            None => {
                                return Err(PatternError::UnterminatedQuote { position: start });
                            }
                            Some('\'') if chars.get(pos + 1) == Some(&'\'') => {
                                text.push('\'');
                                pos += 2;
                            }
                            Some('\'') => break,
                            Some(&c) => {
                                text.push(c);
                                pos += 1;
                            }
                        }
                    }
                    if text.is_empty() {
                        // `''` outside quoted text.
                        literal.push('\'');
                    } else {
                        literal.push_str(&text);
                    }
                }
                '[' => optional_depth += 1,
                ']' => {
                    if optional_depth == 0 {
                        return Err(PatternError::UnmatchedBracket { position: pos });
                    }
                    optional_depth -= 1;
                }
                '{' | '}' | '#' => {
                    return Err(PatternError::ReservedCharacter {
                        character: cur,
                        position: pos,
                    });
                }
                _ => literal.push(cur),
            }
            pos += 1;
        }
        if !literal.is_empty() {
            items.push(Item::Literal(literal));
        }
        Ok(TimePattern {
            source: pattern.to_string(),
            items,
        })
    }

    /// The pattern as given to [`TimePattern::parse`].
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Formats `instant` as seen at `offset`, as Java's
    /// `DateTimeFormatter.ofPattern(pattern, Locale.ROOT).withZone(offset).format(instant)`.
    pub fn format(&self, instant: Timestamp, offset: Offset) -> String {
        let dt = offset.to_datetime(instant);
        let mut out = String::with_capacity(self.source.len() + 16);
        for item in &self.items {
            match *item {
                Item::Literal(ref text) => out.push_str(text),
                Item::Year { of_era, width } => {
                    let year = year_value(i64::from(dt.year()), of_era);
                    if year < 0 {
                        out.push('-');
                    } else if (4..19).contains(&width) && year >= 10i64.pow(width as u32) {
                        // Java's SignStyle.EXCEEDS_PAD (four letters or more).
                        out.push('+');
                    }
                    push_padded(&mut out, year.unsigned_abs(), width);
                }
                Item::TwoDigitYear { of_era } => {
                    let year = year_value(i64::from(dt.year()), of_era);
                    push_padded(&mut out, year.unsigned_abs() % 100, 2);
                }
                Item::Month { width } => {
                    push_padded(&mut out, dt.month().unsigned_abs().into(), width)
                }
                Item::Day { width } => push_padded(&mut out, dt.day().unsigned_abs().into(), width),
                Item::Hour24 { width } => {
                    push_padded(&mut out, dt.hour().unsigned_abs().into(), width)
                }
                Item::Hour12 { width } => {
                    let hour = match dt.hour() % 12 {
                        0 => 12,
                        h => h.unsigned_abs(),
                    };
                    push_padded(&mut out, hour.into(), width);
                }
                Item::AmPm => out.push_str(if dt.hour() < 12 { "AM" } else { "PM" }),
                Item::Minute { width } => {
                    push_padded(&mut out, dt.minute().unsigned_abs().into(), width)
                }
                Item::Second { width } => {
                    push_padded(&mut out, dt.second().unsigned_abs().into(), width)
                }
                Item::Fraction { digits } => {
                    let nanos = u64::from(dt.subsec_nanosecond().unsigned_abs());
                    push_padded(&mut out, nanos / 10u64.pow(9 - digits), digits as usize);
                }
                Item::Offset(form) => form.write(offset.seconds(), &mut out),
            }
        }
        out
    }
}

impl fmt::Display for TimePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The printer for a run of `count` letters `letter` starting at `position`, with Java's
/// limits on counts (`DateTimeFormatterBuilder.parsePattern` / `parseField`).
fn field(letter: char, count: usize, position: usize) -> Result<Item, PatternError> {
    let too_many = Err(PatternError::TooManyLetters {
        letter,
        count,
        position,
    });
    let unsupported = Err(PatternError::UnsupportedLetter {
        letter,
        count,
        position,
    });
    let width = count;
    match letter {
        'y' | 'u' => {
            let of_era = letter == 'y';
            match count {
                2 => Ok(Item::TwoDigitYear { of_era }),
                1..=19 => Ok(Item::Year { of_era, width }),
                _ => too_many,
            }
        }
        'M' => match count {
            1 | 2 => Ok(Item::Month { width }),
            3..=5 => unsupported, // month names
            _ => too_many,
        },
        'd' | 'H' | 'h' | 'm' | 's' if count > 2 => too_many,
        'd' => Ok(Item::Day { width }),
        'H' => Ok(Item::Hour24 { width }),
        'h' => Ok(Item::Hour12 { width }),
        'm' => Ok(Item::Minute { width }),
        's' => Ok(Item::Second { width }),
        'a' if count > 1 => too_many,
        'a' => Ok(Item::AmPm),
        'S' if count > 9 => too_many,
        'S' => Ok(Item::Fraction {
            digits: count as u32,
        }),
        'X' | 'x' | 'Z' if count > 5 => too_many,
        'X' => Ok(Item::Offset(OffsetForm::for_count(count, "Z"))),
        'x' => {
            let zero = match count {
                1 => "+00",
                n if n.is_multiple_of(2) => "+0000",
                _ => "+00:00",
            };
            Ok(Item::Offset(OffsetForm::for_count(count, zero)))
        }
        'Z' => match count {
            1..=3 => Ok(Item::Offset(OffsetForm {
                style: 3,
                zero: "+0000",
            })),
            5 => Ok(Item::Offset(OffsetForm {
                style: 6,
                zero: "Z",
            })),
            _ => unsupported, // ZZZZ: localized "GMT+01:00"
        },
        _ => unsupported,
    }
}

/// `y` is the year of era (1 BC is year 0 of the proleptic calendar, printed as 1); `u` the
/// proleptic year.
fn year_value(year: i64, of_era: bool) -> i64 {
    if of_era && year < 1 { 1 - year } else { year }
}

fn push_padded(out: &mut String, value: u64, width: usize) {
    use std::fmt::Write;
    let _ = write!(out, "{value:0width$}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(pattern: &str) -> String {
        TimePattern::parse(pattern).expect_err(pattern).to_string()
    }

    fn utc(pattern: &str, instant: &str) -> String {
        let instant: Timestamp = instant.parse().unwrap();
        TimePattern::parse(pattern)
            .unwrap()
            .format(instant, Offset::UTC)
    }

    #[test]
    fn unsupported_letters_name_letter_and_position() {
        assert_eq!(error("yyyy-Q"), "unsupported pattern letter 'Q' at 5");
        assert_eq!(error("E, dd"), "unsupported pattern letter 'E' at 0");
        assert_eq!(error("G"), "unsupported pattern letter 'G' at 0");
        assert_eq!(error("n"), "unsupported pattern letter 'n' at 0");
        assert_eq!(error("HH:mm VV"), "unsupported pattern letters 'VV' at 6");
        assert_eq!(
            error("dd MMM yyyy"),
            "unsupported pattern letters 'MMM' at 3"
        );
        assert_eq!(error("ZZZZ"), "unsupported pattern letters 'ZZZZ' at 0");
        // Unquoted T is not a literal in Java either.
        assert_eq!(
            error("yyyy-MM-ddTHH"),
            "unsupported pattern letter 'T' at 10"
        );
        assert_eq!(error("ppH"), "unsupported pattern letters 'pp' at 0");
        // Positions count characters, not bytes.
        assert_eq!(error("é·Q"), "unsupported pattern letter 'Q' at 2");
    }

    #[test]
    fn counts_java_rejects() {
        assert_eq!(error("yyyy-MM-ddd"), "too many pattern letters 'ddd' at 8");
        assert_eq!(error("aa"), "too many pattern letters 'aa' at 0");
        assert_eq!(error("HHH"), "too many pattern letters 'HHH' at 0");
        assert_eq!(
            error("ss.SSSSSSSSSS"),
            "too many pattern letters 'SSSSSSSSSS' at 3"
        );
        assert_eq!(error("XXXXXX"), "too many pattern letters 'XXXXXX' at 0");
        assert_eq!(error("MMMMMM"), "too many pattern letters 'MMMMMM' at 0");
        assert!(matches!(
            TimePattern::parse(&"y".repeat(20)),
            Err(PatternError::TooManyLetters { count: 20, .. })
        ));
    }

    #[test]
    fn many_year_letters_are_widths_as_in_java() {
        // Java accepts up to 19 `y`: the count is the minimum width.
        assert_eq!(utc("yyyyy", "2024-03-07T00:00:00Z"), "02024");
        assert_eq!(utc("yyy", "0045-03-07T00:00:00Z"), "045");
        assert_eq!(
            utc(&"u".repeat(19), "2024-03-07T00:00:00Z"),
            "0000000000000002024"
        );
    }

    #[test]
    fn quotes_and_brackets() {
        assert_eq!(error("'abc"), "unterminated quote at 0");
        assert_eq!(error("yyyy-MM-dd'T"), "unterminated quote at 10");
        assert_eq!(error("HH'''"), "unterminated quote at 2");
        assert_eq!(error("HH]mm"), "']' without a preceding '[' at 2");
        assert_eq!(error("HH#"), "reserved pattern character '#' at 2");
        assert_eq!(error("{HH}"), "reserved pattern character '{' at 0");
        assert_eq!(
            utc("'at' h 'o''clock'", "2024-03-07T16:00:00Z"),
            "at 4 o'clock"
        );
        assert_eq!(utc("''HH''", "2024-03-07T16:00:00Z"), "'16'");
        assert_eq!(utc("[HH[:mm]]", "2024-03-07T16:05:00Z"), "16:05");
        assert_eq!(utc("'{#}'", "2024-03-07T16:05:00Z"), "{#}");
    }

    #[test]
    fn first_error_wins() {
        assert_eq!(error("Q'abc"), "unsupported pattern letter 'Q' at 0");
        assert_eq!(error("'abc Q"), "unterminated quote at 0");
    }

    #[test]
    fn default_pattern() {
        let pattern = TimePattern::parse(DEFAULT_PATTERN).unwrap();
        let instant: Timestamp = "2021-09-22T09:56:09.75Z".parse().unwrap();
        assert_eq!(pattern.format(instant, Offset::UTC), "2021-09-22T09:56:09Z");
        let plus_two = Offset::from_hours(2).unwrap();
        assert_eq!(
            pattern.format(instant, plus_two),
            "2021-09-22T11:56:09+02:00"
        );
        assert_eq!(pattern.to_string(), DEFAULT_PATTERN);
        assert_eq!(pattern.as_str(), DEFAULT_PATTERN);
    }

    #[test]
    fn offsets_beyond_java_range() {
        // jiff allows +-25:59:59, Java +-18:00; the same rules apply.
        let instant: Timestamp = "2024-03-07T00:00:00Z".parse().unwrap();
        let pattern = TimePattern::parse("XXX|X|xxxxx").unwrap();
        assert_eq!(
            pattern.format(instant, Offset::MAX),
            "+25:59|+2559|+25:59:59"
        );
        assert_eq!(
            pattern.format(instant, Offset::MIN),
            "-25:59|-2559|-25:59:59"
        );
    }
}
