//! The XML-RPC value model and its conversions to and from Rust types.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use indexmap::IndexMap;

/// One XML-RPC value, covering every type OpenNebula and its clients use.
///
/// Conversions exist from the Rust types that read naturally at call sites (`42`, `true`,
/// `"name"`, `vec![..]`, `Option<T>` ...) and back with [`TryFrom`].
///
/// ```
/// use opennebula::wire::Value;
/// let params: Vec<Value> = vec![42.into(), "my_vm".into(), false.into()];
/// assert_eq!(params[0], Value::Int(42));
/// let id: i32 = Value::Int(7).try_into().unwrap();
/// assert_eq!(id, 7);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>` / `<i4>`: 32-bit signed integer. What oned reads for every `int` parameter.
    Int(i32),
    /// `<i8>`: 64-bit signed integer (only oned's internal raft/federation calls take it).
    I8(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<string>`, or an untyped `<value>text</value>`.
    String(String),
    /// `<double>`.
    Double(f64),
    /// `<dateTime.iso8601>`, kept as the text sent (XML-RPC gives no time zone).
    DateTime(String),
    /// `<base64>`, decoded.
    Base64(Vec<u8>),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<struct>`, members in document order.
    Struct(IndexMap<String, Value>),
    /// `<nil/>` (an extension; xmlrpc-c and Python's xmlrpc.client know it).
    Nil,
}

impl Value {
    /// The XML-RPC type name of this value, as used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::I8(_) => "i8",
            Value::Bool(_) => "boolean",
            Value::String(_) => "string",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Base64(_) => "base64",
            Value::Array(_) => "array",
            Value::Struct(_) => "struct",
            Value::Nil => "nil",
        }
    }

    /// The string, for [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, for [`Value::Int`] and [`Value::I8`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(i64::from(*i)),
            Value::I8(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean, for [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, for [`Value::Array`].
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::I8(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::String(s) | Value::DateTime(s) => f.write_str(s),
            Value::Double(d) => write!(f, "{d}"),
            Value::Base64(b) => write!(f, "<{} bytes>", b.len()),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Struct(members) => {
                f.write_str("{")?;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Nil => f.write_str("nil"),
        }
    }
}

/// A [`Value`] could not be converted to the requested Rust type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found XML-RPC {found}")]
pub struct ValueTypeError {
    /// The Rust-side expectation.
    pub expected: &'static str,
    /// The XML-RPC type found.
    pub found: &'static str,
}

impl ValueTypeError {
    fn new(expected: &'static str, found: &Value) -> Self {
        ValueTypeError {
            expected,
            found: found.type_name(),
        }
    }
}

macro_rules! from_int {
    ($($t:ty => $variant:ident),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::$variant(v.into()) }
        }
    )*};
}
from_int!(i32 => Int, i16 => Int, u16 => Int, i8 => Int, u8 => Int, i64 => I8);

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Double(v.into())
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::String(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Base64(v)
    }
}
impl From<()> for Value {
    fn from(_: ()) -> Self {
        Value::Nil
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Nil, Into::into)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value
where
    T: NotByte,
{
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Value> + Clone> From<&[T]> for Value {
    fn from(v: &[T]) -> Self {
        Value::Array(v.iter().cloned().map(Into::into).collect())
    }
}
impl<K: Into<String>, V: Into<Value>> From<IndexMap<K, V>> for Value {
    fn from(v: IndexMap<K, V>) -> Self {
        Value::Struct(v.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}
impl<K: Into<String>, V: Into<Value>> From<BTreeMap<K, V>> for Value {
    fn from(v: BTreeMap<K, V>) -> Self {
        Value::Struct(v.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}
impl<K: Into<String>, V: Into<Value>> From<HashMap<K, V>> for Value {
    fn from(v: HashMap<K, V>) -> Self {
        Value::Struct(v.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// Marker keeping `Vec<u8>` (base64) apart from `Vec<T>` (array) in the conversions.
#[doc(hidden)]
pub trait NotByte {}
macro_rules! not_byte {
    ($($t:ty),*) => {$( impl NotByte for $t {} )*};
}
not_byte!(i32, i64, i16, u16, i8, bool, f64, f32, String, &str, Value);
impl<T> NotByte for Vec<T> {}
impl<T> NotByte for Option<T> {}

impl TryFrom<Value> for i32 {
    type Error = ValueTypeError;
    fn try_from(v: Value) -> Result<Self, Self::Error> {
        match v {
            Value::Int(i) => Ok(i),
            Value::I8(i) => i32::try_from(i).map_err(|_| ValueTypeError {
                expected: "a 32-bit int",
                found: "i8 out of range",
            }),
            other => Err(ValueTypeError::new("int", &other)),
        }
    }
}
impl TryFrom<Value> for i64 {
    type Error = ValueTypeError;
    fn try_from(v: Value) -> Result<Self, Self::Error> {
        v.as_i64()
            .ok_or_else(|| ValueTypeError::new("int or i8", &v))
    }
}
impl TryFrom<Value> for bool {
    type Error = ValueTypeError;
    fn try_from(v: Value) -> Result<Self, Self::Error> {
        v.as_bool()
            .ok_or_else(|| ValueTypeError::new("boolean", &v))
    }
}
impl TryFrom<Value> for f64 {
    type Error = ValueTypeError;
    fn try_from(v: Value) -> Result<Self, Self::Error> {
        match v {
            Value::Double(d) => Ok(d),
            Value::Int(i) => Ok(i.into()),
            other => Err(ValueTypeError::new("double", &other)),
        }
    }
}
impl TryFrom<Value> for String {
    type Error = ValueTypeError;
    fn try_from(v: Value) -> Result<Self, Self::Error> {
        match v {
            Value::String(s) => Ok(s),
            other => Err(ValueTypeError::new("string", &other)),
        }
    }
}
impl TryFrom<Value> for () {
    type Error = ValueTypeError;
    fn try_from(_: Value) -> Result<Self, Self::Error> {
        Ok(())
    }
}
impl TryFrom<Value> for Vec<Value> {
    type Error = ValueTypeError;
    fn try_from(v: Value) -> Result<Self, Self::Error> {
        match v {
            Value::Array(a) => Ok(a),
            other => Err(ValueTypeError::new("array", &other)),
        }
    }
}

/// A list of call parameters, built from whatever reads naturally at the call site.
///
/// Implemented for `()`, `Vec<Value>`, arrays of values and tuples of up to twelve items
/// that convert to a parameter ([`IntoParam`]: anything `Into<Value>`, and templates), so
/// `client.call("vm.info", (42, false))`, `client.call("vm.update", (42, &template, 1))` and
/// `client.call("vm.info", vec![Value::Int(42)])` all work.
///
/// The conversion can fail (a template that no wire form carries exactly): the call is then
/// refused with [`Error::InvalidArgument`](crate::Error::InvalidArgument) before anything is
/// sent.
pub trait IntoParams {
    /// The parameters, in order (not including the session, which the client adds).
    fn into_params(self) -> crate::Result<Vec<Value>>;
}

/// One call parameter: anything that converts to a [`Value`], and the template types
/// ([`Template`](crate::Template), [`RootedTemplate`](crate::template::RootedTemplate)),
/// whose conversion fails when no wire form carries them exactly.
pub trait IntoParam {
    /// The parameter's value.
    fn into_param(self) -> crate::Result<Value>;
}

impl<T: Into<Value>> IntoParam for T {
    fn into_param(self) -> crate::Result<Value> {
        Ok(self.into())
    }
}

impl IntoParams for () {
    fn into_params(self) -> crate::Result<Vec<Value>> {
        Ok(Vec::new())
    }
}
impl IntoParams for Vec<Value> {
    fn into_params(self) -> crate::Result<Vec<Value>> {
        Ok(self)
    }
}
impl<const N: usize> IntoParams for [Value; N] {
    fn into_params(self) -> crate::Result<Vec<Value>> {
        Ok(self.into())
    }
}
macro_rules! tuple_params {
    ($($name:ident)+) => {
        impl<$($name: IntoParam),+> IntoParams for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_params(self) -> crate::Result<Vec<Value>> {
                let ($($name,)+) = self;
                Ok(vec![$($name.into_param()?),+])
            }
        }
    };
}
tuple_params!(A);
tuple_params!(A B);
tuple_params!(A B C);
tuple_params!(A B C D);
tuple_params!(A B C D E);
tuple_params!(A B C D E F);
tuple_params!(A B C D E F G);
tuple_params!(A B C D E F G H);
tuple_params!(A B C D E F G H I);
tuple_params!(A B C D E F G H I J);
tuple_params!(A B C D E F G H I J K);
tuple_params!(A B C D E F G H I J K L);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_read_naturally() {
        let params = (42, "x", true, Some(1.5), None::<i32>, vec![1, 2])
            .into_params()
            .unwrap();
        assert_eq!(
            params,
            vec![
                Value::Int(42),
                Value::String("x".into()),
                Value::Bool(true),
                Value::Double(1.5),
                Value::Nil,
                Value::Array(vec![Value::Int(1), Value::Int(2)])
            ]
        );
        assert_eq!(Value::from(vec![1u8, 2]), Value::Base64(vec![1, 2]));
        assert_eq!(Value::from(5_000_000_000i64), Value::I8(5_000_000_000));
        assert!(i32::try_from(Value::I8(5_000_000_000)).is_err());
        assert_eq!(
            String::try_from(Value::Int(1)).unwrap_err().to_string(),
            "expected string, found XML-RPC int"
        );
    }
}
