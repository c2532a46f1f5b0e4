//! Small helpers shared by every generated `FromXml`/`ToXml` implementation. Hand-written
//! once here instead of being generated per field; all are on the hot path of pool decoding.
//!
//! Leniency rules (OpenNebula's output does not always match its schemas):
//! - a number is read from the element's text, trimmed; text that is not an integer but is
//!   a finite decimal (`"1.5"`, `"1e3"`) is truncated toward zero (saturating);
//! - anything else (empty, `"abc"`, `"NaN"`) is no number: `None` for optional elements,
//!   0 for required ones.

use crate::xml::{Element, XmlError, XmlReader, XmlWriter};

/// Parses an integer leniently (see the module docs); `None` when `text` holds no number.
#[inline]
pub fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(value) = text.parse::<i64>() {
        return Some(value);
    }
    // Rare path: decimals, exponents, values beyond i64 written as integers.
    let value = text.parse::<f64>().ok().filter(|v| v.is_finite())?;
    // `as` saturates at i64::MIN/MAX and truncates toward zero.
    Some(value as i64)
}

/// Parses a decimal leniently; `None` when `text` holds no finite number.
#[inline]
pub fn parse_float(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Reads a required integer element: 0 when empty or not a number.
#[inline]
pub fn int(reader: &mut XmlReader<'_>, element: &Element<'_>) -> Result<i64, XmlError> {
    Ok(parse_int(&reader.read_text(element)?).unwrap_or(0))
}

/// Reads an optional integer element: `None` when empty or not a number.
#[inline]
pub fn opt_int(reader: &mut XmlReader<'_>, element: &Element<'_>) -> Result<Option<i64>, XmlError> {
    Ok(parse_int(&reader.read_text(element)?))
}

/// Reads a required decimal element: 0 when empty or not a number.
#[inline]
pub fn float(reader: &mut XmlReader<'_>, element: &Element<'_>) -> Result<f64, XmlError> {
    Ok(parse_float(&reader.read_text(element)?).unwrap_or(0.0))
}

/// Reads an optional decimal element: `None` when empty or not a number.
#[inline]
pub fn opt_float(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
) -> Result<Option<f64>, XmlError> {
    Ok(parse_float(&reader.read_text(element)?))
}

/// Reads a text element into an owned `String` (one allocation; none for empty text).
#[inline]
pub fn text(reader: &mut XmlReader<'_>, element: &Element<'_>) -> Result<String, XmlError> {
    Ok(reader.read_text(element)?.into_owned())
}

/// Skips `element` and appends its raw XML (from `before`, the reader position before the
/// element was read; surrounding whitespace dropped) to `out`. Used where the schema has an
/// `xs:any`, so content the types do not describe is kept, not dropped.
pub fn keep_raw(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
    before: u64,
    out: &mut String,
) -> Result<(), XmlError> {
    reader.skip(element)?;
    let after = reader.position();
    // `xml_between` also works when the reader reads an escaped document (the fast path of
    // pool responses), where the input bytes are not the XML itself.
    if let Some(raw) = reader.xml_between(before, after) {
        // Drop the whitespace between the previous element and this one.
        out.push_str(raw.trim());
    }
    Ok(())
}

/// Writes `<name>value</name>` for an integer.
#[inline]
pub fn write_int(writer: &mut XmlWriter, name: &str, value: i64) {
    let mut buffer = [0u8; 20];
    writer.start(name);
    writer.raw(format_int(value, &mut buffer));
    writer.end(name);
}

/// Writes `<name>value</name>` for a decimal (shortest text that reads back exactly).
#[inline]
pub fn write_float(writer: &mut XmlWriter, name: &str, value: f64) {
    writer.start(name);
    writer.raw(&value.to_string());
    writer.end(name);
}

/// Formats `value` in `buffer` without allocating.
fn format_int(value: i64, buffer: &mut [u8; 20]) -> &str {
    let mut n = value.unsigned_abs();
    let mut i = buffer.len();
    loop {
        i -= 1;
        buffer[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        i -= 1;
        buffer[i] = b'-';
    }
    // Only ASCII digits and '-' were written.
    std::str::from_utf8(&buffer[i..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_numbers() {
        assert_eq!(parse_int("42"), Some(42));
        assert_eq!(parse_int(" -7 \n"), Some(-7));
        assert_eq!(parse_int("1.9"), Some(1));
        assert_eq!(parse_int("-1.9"), Some(-1));
        assert_eq!(parse_int("1e3"), Some(1000));
        assert_eq!(parse_int("18446744073709551615"), Some(i64::MAX));
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("abc"), None);
        assert_eq!(parse_int("NaN"), None);
        assert_eq!(parse_float("0.25"), Some(0.25));
        assert_eq!(parse_float("inf"), None);
        assert_eq!(parse_float(""), None);
    }

    #[test]
    fn integers_format_like_display() {
        for value in [0, 1, -1, 9, 10, 12345, i64::MAX, i64::MIN] {
            let mut buffer = [0u8; 20];
            assert_eq!(format_int(value, &mut buffer), value.to_string());
        }
    }
}
