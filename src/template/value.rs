//! The value types of a template: [`Value`] and [`Vector`].

use std::borrow::Cow;
use std::fmt;

use super::{names, upper, Template};

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
#[derive(Clone, Default)]
pub struct Vector {
    // Compact on purpose: a 10,000-VM pool holds about half a million vector entries, so a
    // vector is two allocations whatever its size, not two strings per entry plus a hash
    // table. `text` holds every name and value back to back (name 0, value 0, name 1, ...);
    // `ends[2 * i]` is where name `i` ends and `ends[2 * i + 1]` where its value ends. Vectors
    // are small (a `DISK` has about ten entries), so lookups scan; changing a vector rebuilds
    // it, and the bulk builders ([`VectorBuilder`]) deduplicate with a hash set when large.
    // A well-known name (see `names`) takes no text: its `ends` word is `STATIC_NAME | id`.
    text: Box<str>,
    ends: Box<[u32]>,
}

impl Vector {
    /// An empty vector attribute.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `i`-th entry (name, value).
    fn entry(&self, i: usize) -> (&str, &str) {
        entry(&self.text, &self.ends, i)
    }

    /// The position of the already upper-case `name`.
    fn position(&self, name: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.entry(i).0 == name)
    }

    /// The value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = upper(name);
        self.iter()
            .find(|(k, _)| *k == name.as_ref())
            .map(|(_, v)| v)
    }

    /// The value of `name` parsed as `T`: `None` when missing, `Some(Err(_))` when it does
    /// not parse.
    pub fn get_parsed<T: std::str::FromStr>(&self, name: &str) -> Option<Result<T, T::Err>> {
        self.get(name).map(str::parse)
    }

    /// `true` when `name` (case-insensitive) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.position(upper(name).as_ref()).is_some()
    }

    /// Sets `name` to `value`, replacing an earlier value in place (order kept) or appending.
    ///
    /// A vector is stored packed (one text buffer), so each `set` re-packs it: to build a
    /// vector of many members, collect pairs instead (`[("IMAGE_ID", "1")].into()` or
    /// `pairs.into_iter().collect::<Vector>()`), which packs once.
    pub fn set(&mut self, name: &str, value: impl ToTemplateString) -> &mut Self {
        let name = upper(name);
        let value = value.to_template_string();
        let replaced = self.position(name.as_ref());
        let mut builder = VectorBuilder::with_capacity(self.len() + 1);
        for (i, (k, v)) in self.iter().enumerate() {
            builder.push_unique(k, if replaced == Some(i) { &value } else { v });
        }
        if replaced.is_none() {
            builder.push_unique(&name, &value);
        }
        *self = builder.finish();
        self
    }

    /// Builder form of [`set`](Self::set).
    pub fn with(mut self, name: &str, value: impl ToTemplateString) -> Self {
        self.set(name, value);
        self
    }

    /// Removes `name`, returning its value. The order of the other entries is kept.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let removed = self.position(upper(name).as_ref())?;
        let value = self.entry(removed).1.to_owned();
        let mut builder = VectorBuilder::with_capacity(self.len() - 1);
        for (i, (k, v)) in self.iter().enumerate() {
            if i != removed {
                builder.push_unique(k, v);
            }
        }
        *self = builder.finish();
        Some(value)
    }

    /// The entries in order, as `(NAME, value)`.
    pub fn iter(&self) -> VectorIter<'_> {
        VectorIter {
            vector: self,
            front: 0,
            back: self.len(),
        }
    }

    /// The names in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// `true` when the vector has no entries (`DISK = []`).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of text stored (values, and names not in the well-known table).
    #[cfg(test)]
    pub(crate) fn stored_text_len(&self) -> usize {
        self.text.len()
    }
}

/// Builds a [`Vector`] in one go: entries are appended to one buffer and packed once.
/// `push_unique` trusts its caller that the name is new; `insert_first` and `insert_last`
/// deduplicate (keeping the first value, or the last value at the first position), with a
/// hash index once the vector is large, so hostile input with many entries stays linear.
#[derive(Default)]
pub(crate) struct VectorBuilder {
    text: String,
    ends: Vec<u32>,
    index: Option<std::collections::HashMap<Box<str>, usize>>,
}

/// Above this many entries, the deduplicating inserts of [`VectorBuilder`] use a hash index.
const INDEX_FROM: usize = 32;

impl VectorBuilder {
    pub(crate) fn with_capacity(entries: usize) -> Self {
        VectorBuilder {
            text: String::new(),
            ends: Vec::with_capacity(2 * entries),
            index: None,
        }
    }

    fn len(&self) -> usize {
        self.ends.len() / 2
    }

    fn name(&self, i: usize) -> &str {
        entry(&self.text, &self.ends, i).0
    }

    fn position(&mut self, name: &str) -> Option<usize> {
        if self.index.is_none() && self.len() >= INDEX_FROM {
            let index = (0..self.len())
                .map(|i| (Box::from(self.name(i)), i))
                .collect();
            self.index = Some(index);
        }
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => (0..self.len()).find(|&i| self.name(i) == name),
        }
    }

    /// A builder for `entries` entries whose stored text (values, and the names that are not
    /// well-known) is exactly `text` bytes: the vector is then packed without growing or
    /// shrinking its text.
    pub(crate) fn with_exact_capacity(entries: usize, text: usize) -> Self {
        VectorBuilder {
            text: String::with_capacity(text),
            ends: Vec::with_capacity(2 * entries),
            index: None,
        }
    }

    /// Appends an entry whose (upper-case) name is known to be new.
    pub(crate) fn push_unique(&mut self, name: &str, value: &str) {
        self.push_unique_known(name, names::lookup(name), value);
    }

    /// [`push_unique`](Self::push_unique) for a caller that has looked `name` up in the
    /// well-known names already (`known` is `names::lookup(name)`).
    pub(crate) fn push_unique_known(&mut self, name: &str, known: Option<u16>, value: &str) {
        if let Some(index) = &mut self.index {
            index.insert(Box::from(name), self.ends.len() / 2);
        }
        match known {
            Some(id) => self.ends.push(STATIC_NAME | u32::from(id)),
            None => {
                self.text.push_str(name);
                self.ends.push(offset(self.text.len()));
            }
        }
        self.text.push_str(value);
        self.ends.push(offset(self.text.len()));
    }

    /// Appends an upper-case name unless it is already there (the first value wins: the text
    /// parser's rule, which is oned's).
    pub(crate) fn insert_first(&mut self, name: &str, value: &str) {
        if self.position(name).is_none() {
            self.push_unique(name, value);
        }
    }

    /// Appends an upper-case name, or replaces the value of an earlier entry of that name in
    /// its place ([`Vector::set`]'s rule).
    pub(crate) fn insert_last(&mut self, name: &str, value: &str) {
        match self.position(name) {
            None => self.push_unique(name, value),
            Some(i) => {
                let mut rebuilt = VectorBuilder::with_capacity(self.len());
                let current = std::mem::take(self).finish();
                for (j, (k, v)) in current.iter().enumerate() {
                    rebuilt.push_unique(k, if i == j { value } else { v });
                }
                rebuilt.index = None;
                *self = rebuilt;
            }
        }
    }

    pub(crate) fn finish(self) -> Vector {
        Vector {
            text: self.text.into_boxed_str(),
            ends: self.ends.into_boxed_slice(),
        }
    }
}

/// The flag of an `ends` word holding the index of a well-known name rather than an offset.
const STATIC_NAME: u32 = 1 << 31;

/// A text offset inside a vector. One vector attribute holds less than 2 GiB of text: a
/// response is far smaller than that (the client's size limit).
fn offset(len: usize) -> u32 {
    match u32::try_from(len) {
        Ok(offset) if offset < STATIC_NAME => offset,
        _ => panic!("a template vector attribute holds less than 2 GiB of text"),
    }
}

/// Entry `i` of a vector's `text` and `ends`: (name, value).
fn entry<'a>(text: &'a str, ends: &[u32], i: usize) -> (&'a str, &'a str) {
    let start = if i == 0 { 0 } else { ends[2 * i - 1] as usize };
    let name = ends[2 * i];
    let value_end = ends[2 * i + 1] as usize;
    if name & STATIC_NAME != 0 {
        // The mask leaves 31 bits, of which the builder only ever set 16.
        let id = (name & !STATIC_NAME) as u16;
        (names::name(id), &text[start..value_end])
    } else {
        let name_end = name as usize;
        (&text[start..name_end], &text[name_end..value_end])
    }
}

impl<K: AsRef<str>, V: ToTemplateString> FromIterator<(K, V)> for Vector {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut builder = VectorBuilder::default();
        for (k, v) in iter {
            builder.insert_last(&upper(k.as_ref()), &v.to_template_string());
        }
        builder.finish()
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

/// Equality ignores the order of the entries, as oned (which keeps them sorted) does.
impl PartialEq for Vector {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(k, v)| other.position(k).map(|i| other.entry(i).1) == Some(v))
    }
}

impl Eq for Vector {}

impl fmt::Debug for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The entries of a [`Vector`] in order, as `(NAME, value)`.
#[derive(Debug, Clone)]
pub struct VectorIter<'a> {
    vector: &'a Vector,
    front: usize,
    back: usize,
}

impl<'a> Iterator for VectorIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        Some(self.vector.entry(self.front - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl ExactSizeIterator for VectorIter<'_> {}

impl DoubleEndedIterator for VectorIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some(self.vector.entry(self.back))
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
