//! Serde support: a template is a natural JSON object.
//!
//! A single value is a string, a vector attribute an object of strings, a nested value an
//! object of the same shape as a template, and a name with several values an array. Reading
//! accepts numbers and booleans where strings are expected (`{"MEMORY": 1024}`), and `null`
//! as an empty string.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{upper, Template, TemplateBuilder, Value, Vector};

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, values) in self.entries() {
            match values {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, many)?,
            }
        }
        map.end()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Single(s) => serializer.serialize_str(s),
            Value::Vector(v) => v.serialize(serializer),
            Value::Nested(t) => t.serialize(serializer),
        }
    }
}

impl Serialize for Vector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Whatever JSON-like shape a template's values can take, before it is sorted into
/// [`Value`]s.
enum Loose {
    Text(String),
    List(Vec<Loose>),
    Object(Vec<(String, Loose)>),
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean, array or object")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Loose, E> {
        Ok(Loose::Text(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Loose, E> {
        Ok(Loose::Text(if v { "YES" } else { "NO" }.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose::Text(String::new()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose::Text(String::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Loose>()? {
            items.push(item);
        }
        Ok(Loose::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Loose>()? {
            entries.push((k, v));
        }
        Ok(Loose::Object(entries))
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

fn template_from_entries<E: de::Error>(entries: Vec<(String, Loose)>) -> Result<Template, E> {
    let mut template = TemplateBuilder::default();
    for (name, loose) in entries {
        let name = upper(&name).into_owned();
        match loose {
            Loose::List(items) => {
                for item in items {
                    let value = match item {
                        Loose::List(_) => {
                            return Err(E::custom(format!(
                                "template attribute {name:?}: an array inside an array"
                            )))
                        }
                        other => value_from(other)?,
                    };
                    template.push(&name, value);
                }
            }
            other => template.push(&name, value_from(other)?),
        }
    }
    Ok(template.finish())
}

fn value_from<E: de::Error>(loose: Loose) -> Result<Value, E> {
    match loose {
        Loose::Text(s) => Ok(Value::Single(s)),
        Loose::Object(entries) => Ok(template_from_entries::<E>(entries)?.into_element_value()),
        Loose::List(_) => Err(E::custom("an array where a value was expected")),
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Loose::deserialize(deserializer)? {
            Loose::Object(entries) => template_from_entries(entries),
            _ => Err(de::Error::custom("a template must be an object")),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        value_from(Loose::deserialize(deserializer)?)
    }
}

impl<'de> Deserialize<'de> for Vector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Vector(v) => Ok(v),
            _ => Err(de::Error::custom(
                "a vector attribute must be an object of strings",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::template;
    use crate::template::Template;

    #[test]
    fn json_is_a_natural_object_and_reads_back() {
        let t = template! {
            NAME = "vm1",
            DISK = [IMAGE_ID = 1],
            DISK = [IMAGE_ID = 2],
            CONTEXT = [NETWORK = "YES"],
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"NAME":"vm1","DISK":[{"IMAGE_ID":"1"},{"IMAGE_ID":"2"}],"CONTEXT":{"NETWORK":"YES"}}"#
        );
        let back: Template = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);

        let loose: Template =
            serde_json::from_str(r#"{"memory":1024,"ok":true,"none":null,"cpu":0.5}"#).unwrap();
        assert_eq!(
            loose,
            template! { MEMORY = 1024, OK = "YES", NONE = "", CPU = "0.5" }
        );
        assert!(serde_json::from_str::<Template>("[1]").is_err());
        assert!(serde_json::from_str::<Template>(r#"{"A":[[1]]}"#).is_err());
    }
}
