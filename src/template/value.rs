//! The value types of a template: [`Value`] and [`Vector`].

use std::borrow::Cow;
use std::fmt;

use indexmap::IndexMap;

use super::{upper, Template};

/// One value of a template attribute.
///
/// OpenNebula knows two kinds: a single string (`NAME = "vm1"`) and a vector attribute
/// (`DISK = [ IMAGE_ID = "1", SIZE = "10" ]`). A third kind, [`Value::Nested`], exists only so
/// that XML read from a response is never lost: an element whose children have children
/// themselves, or repeat a name, is kept as a whole sub-template. OpenNebula's own templates
/// never produce it, and it can only be sent back in the XML form (see
/// [`Template::to_wire_string`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `NAME = "value"`.
    Single(String),
    /// `DISK = [ IMAGE_ID = "1" ]`.
    Vector(Vector),
    /// An element nested deeper than a vector attribute, kept losslessly.
    Nested(Template),
}

impl Value {
    /// The string of a single value, `None` for a vector or nested value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Single(s) => Some(s),
            _ => None,
        }
    }

    /// The vector attribute, `None` for a single or nested value.
    pub fn as_vector(&self) -> Option<&Vector> {
        match self {
            Value::Vector(v) => Some(v),
            _ => None,
        }
    }

    /// The vector attribute, mutably.
    pub fn as_vector_mut(&mut self) -> Option<&mut Vector> {
        match self {
            Value::Vector(v) => Some(v),
            _ => None,
        }
    }

    /// The nested sub-template, `None` for a single value or a vector.
    pub fn as_nested(&self) -> Option<&Template> {
        match self {
            Value::Nested(t) => Some(t),
            _ => None,
        }
    }

    /// `true` for [`Value::Single`].
    pub fn is_single(&self) -> bool {
        matches!(self, Value::Single(_))
    }

    /// `true` for [`Value::Vector`].
    pub fn is_vector(&self) -> bool {
        matches!(self, Value::Vector(_))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Single(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Single(value)
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Single(value.clone())
    }
}

impl From<Cow<'_, str>> for Value {
    fn from(value: Cow<'_, str>) -> Self {
        Value::Single(value.into_owned())
    }
}

/// `true` → `"YES"`, `false` → `"NO"`, as OpenNebula spells booleans in templates.
impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Single(if value { "YES" } else { "NO" }.to_owned())
    }
}

macro_rules! value_from_display {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(value: $t) -> Self {
                Value::Single(value.to_string())
            }
        }
    )*};
}
value_from_display!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, char);

impl From<Vector> for Value {
    fn from(value: Vector) -> Self {
        Value::Vector(value)
    }
}

impl From<Template> for Value {
    fn from(value: Template) -> Self {
        Value::Nested(value)
    }
}

/// A vector attribute: an ordered map of upper-case names to strings, such as the contents of
/// `DISK = [ IMAGE_ID = "1", SIZE = "10" ]`.
///
/// Names are case-insensitive on the way in (`nic.get("ip")` finds `IP`) and stored upper-case,
/// as OpenNebula stores them. Each name appears once; [`set`](Self::set) replaces.
///
/// ```
/// use opennebula::template::Vector;
///
/// let mut disk = Vector::new();
/// disk.set("image_id", 3).set("SIZE", "10240");
/// assert_eq!(disk.get("IMAGE_ID"), Some("3"));
/// assert_eq!(disk.get("size"), Some("10240"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vector {
    entries: IndexMap<String, String>,
}

impl Vector {
    /// An empty vector attribute.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.get(upper(name).as_ref()).map(String::as_str)
    }

    /// The value of `name` parsed as `T`: `None` when missing, `Some(Err(_))` when it does
    /// not parse.
    pub fn get_parsed<T: std::str::FromStr>(&self, name: &str) -> Option<Result<T, T::Err>> {
        self.get(name).map(str::parse)
    }

    /// `true` when `name` (case-insensitive) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(upper(name).as_ref())
    }

    /// Sets `name` to `value`, replacing an earlier value in place (order kept) or appending.
    pub fn set(&mut self, name: &str, value: impl ToTemplateString) -> &mut Self {
        self.entries
            .insert(upper(name).into_owned(), value.to_template_string());
        self
    }

    /// Builder form of [`set`](Self::set).
    pub fn with(mut self, name: &str, value: impl ToTemplateString) -> Self {
        self.set(name, value);
        self
    }

    /// Removes `name`, returning its value. The order of the other entries is kept.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.entries.shift_remove(upper(name).as_ref())
    }

    /// The entries in order, as `(NAME, value)`.
    pub fn iter(&self) -> VectorIter<'_> {
        VectorIter(self.entries.iter())
    }

    /// The names in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.keys().map(String::as_str)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when the vector has no entries (`DISK = []`).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Inserts an already upper-case name, keeping the first value if it repeats (the text
    /// parser's rule, which is oned's).
    pub(crate) fn insert_first(&mut self, name: String, value: String) {
        self.entries.entry(name).or_insert(value);
    }

    /// An empty vector attribute with room for `capacity` entries.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Vector {
            entries: IndexMap::with_capacity(capacity),
        }
    }

    /// Inserts an already upper-case name, replacing.
    pub(crate) fn insert_raw(&mut self, name: String, value: String) {
        self.entries.insert(name, value);
    }
}

impl<K: AsRef<str>, V: ToTemplateString> FromIterator<(K, V)> for Vector {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut vector = Vector::new();
        for (k, v) in iter {
            vector.set(k.as_ref(), v);
        }
        vector
    }
}

impl<K: AsRef<str>, V: ToTemplateString, const N: usize> From<[(K, V); N]> for Vector {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Vector {
    type Item = (&'a str, &'a str);
    type IntoIter = VectorIter<'a>;

    fn into_iter(self) -> VectorIter<'a> {
        self.iter()
    }
}

/// The entries of a [`Vector`] in order, as `(NAME, value)`.
#[derive(Debug, Clone)]
pub struct VectorIter<'a>(indexmap::map::Iter<'a, String, String>);

impl<'a> Iterator for VectorIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for VectorIter<'_> {}

impl DoubleEndedIterator for VectorIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// `vector["IP"]`: the value of `IP`. Panics when it is missing, like indexing a `HashMap`;
/// use [`Vector::get`] when it may be.
impl std::ops::Index<&str> for Vector {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        match self.get(name) {
            Some(v) => v,
            None => panic!("vector attribute has no entry named {name:?}"),
        }
    }
}

/// Anything that can be written as a template string: strings, numbers, `char`, and `bool`
/// (as `YES`/`NO`, OpenNebula's spelling).
pub trait ToTemplateString {
    /// The string form of `self`.
    fn to_template_string(self) -> String;
}

impl ToTemplateString for &str {
    fn to_template_string(self) -> String {
        self.to_owned()
    }
}

impl ToTemplateString for String {
    fn to_template_string(self) -> String {
        self
    }
}

impl ToTemplateString for &String {
    fn to_template_string(self) -> String {
        self.clone()
    }
}

impl ToTemplateString for Cow<'_, str> {
    fn to_template_string(self) -> String {
        self.into_owned()
    }
}

impl ToTemplateString for bool {
    fn to_template_string(self) -> String {
        if self { "YES" } else { "NO" }.to_owned()
    }
}

macro_rules! to_template_string_display {
    ($($t:ty),*) => {$(
        impl ToTemplateString for $t {
            fn to_template_string(self) -> String {
                self.to_string()
            }
        }
    )*};
}
to_template_string_display!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, char
);

impl fmt::Display for Vector {
    /// The attribute-vector syntax of the contents, `IMAGE_ID="1", SIZE="2"`, for humans
    /// (logs, messages). Use [`Template::to_attribute_vector`] for the wire.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}=\"{}\"", v.replace('"', "\\\""))?;
        }
        Ok(())
    }
}
