//! Reads an XSD directory with xsd-parser's `Parser` and `Interpreter` and converts the
//! resulting type model (`MetaTypes`) into our [`Model`](super::ir::Model).
//!
//! Each file is interpreted as its own unit (with what it includes): interpreting a whole
//! directory at once makes xsd-parser report ambiguous names when two files declare the same
//! global element (`VM_POOL` in `vm_pool.xsd` and `vm_pool_extended.xsd`). From each run only
//! the file's own declarations are taken; references to other files become symbolic [`Key`]s.
//!
//! Lenient include resolution: some published schemas use a type declared in a file they do
//! not include (`requirements.xsd` uses `IDS` from `shared.xsd`). When the interpreter reports
//! such an unknown type, the directory is staged into `work_dir` with the missing include added
//! to every file referring to the type, and the run is repeated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xsd_parser::models::meta::{
    BuildInMeta, ComplexMeta, ElementMetaVariant, ElementMode, MetaTypeVariant, MetaTypes,
};
use xsd_parser::models::schema::{MaxOccurs, SchemaId};
use xsd_parser::models::{IdentType, Name};
use xsd_parser::{Interpreter, InterpreterError, Parser, Schemas, TypeIdent};

use super::ir::{Card, Def, FieldDef, GlobalDef, Key, Model, Origin, StructDef, Ty};

const XS_NAMESPACE: &[u8] = b"http://www.w3.org/2001/XMLSchema";

/// Loads every `*.xsd` of `dir` (sorted by name; `index.xsd`-style files that only include
/// others contribute nothing new). `work_dir` is scratch space for lenient include resolution.
pub fn load_dir(dir: &Path, work_dir: &Path) -> Result<Model, String> {
    let mut model = Model::default();
    if !dir.is_dir() {
        return Ok(model);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xsd"))
        .collect();
    files.sort();
    model.files = files.clone();

    let mut source_dir = dir.to_path_buf();
    for file in &files {
        let name = file.file_name().expect("file name").to_owned();
        let mut attempts = 0;
        loop {
            let path = source_dir.join(&name);
            match interpret(&path) {
                Ok((schemas, types)) => {
                    FileConverter::new(&schemas, &types, &path, &mut model).convert();
                    break;
                }
                Err(Failure::UnknownType(type_name)) if attempts < 8 => {
                    attempts += 1;
                    if source_dir == dir {
                        source_dir = stage(dir, &files, work_dir)?;
                    }
                    add_missing_include(&source_dir, &files, &type_name)?;
                }
                Err(Failure::UnknownType(type_name)) => {
                    return Err(format!(
                        "{}: type `{type_name}` is used but declared nowhere",
                        file.display()
                    ))
                }
                Err(Failure::Other(message)) => {
                    return Err(format!("{}: {message}", file.display()))
                }
            }
        }
    }
    Ok(model)
}

enum Failure {
    UnknownType(String),
    Other(String),
}

fn interpret(path: &Path) -> Result<(Schemas, MetaTypes), Failure> {
    let parser = Parser::new()
        .with_default_resolver()
        .resolve_includes(true)
        .with_default_namespaces()
        .add_schema_from_file(path)
        .map_err(|e| Failure::Other(format!("cannot parse: {e}")))?;
    let schemas = parser.finish();
    let interpreter = Interpreter::new(&schemas)
        .with_buildin_types()
        .and_then(Interpreter::with_default_typedefs)
        .and_then(Interpreter::with_xs_any_type)
        .map_err(|e| Failure::Other(e.to_string()))?;
    match interpreter.finish() {
        Ok((types, _)) => Ok((schemas, types)),
        Err(InterpreterError::UnknownType(ident)) => {
            Err(Failure::UnknownType(ident.name.as_str().to_string()))
        }
        Err(e) => Err(Failure::Other(e.to_string())),
    }
}

/// Copies the `files` of `dir` into `work_dir/xsd` and returns that directory.
fn stage(dir: &Path, files: &[PathBuf], work_dir: &Path) -> Result<PathBuf, String> {
    let staged = work_dir.join("xsd");
    let _ = std::fs::remove_dir_all(&staged);
    std::fs::create_dir_all(&staged).map_err(|e| format!("{}: {e}", staged.display()))?;
    for file in files {
        let target = staged.join(file.file_name().expect("file name"));
        std::fs::copy(file, &target).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    let _ = dir;
    Ok(staged)
}

/// Adds `<xs:include>` of the file declaring `type_name` to every staged file that refers to
/// it without declaring it.
fn add_missing_include(staged: &Path, files: &[PathBuf], type_name: &str) -> Result<(), String> {
    let declaration = [
        format!("complexType name=\"{type_name}\""),
        format!("simpleType name=\"{type_name}\""),
    ];
    let mut texts = BTreeMap::new();
    for file in files {
        let name = file
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(staged.join(&name))
            .map_err(|e| format!("{}: {e}", file.display()))?;
        texts.insert(name, text);
    }
    let declarer = texts
        .iter()
        .find(|(_, text)| declaration.iter().any(|d| text.contains(d.as_str())))
        .map(|(name, _)| name.clone())
        .ok_or_else(|| format!("type `{type_name}` is used but declared in no file"))?;
    let references = [
        format!("type=\"{type_name}\""),
        format!("base=\"{type_name}\""),
    ];
    let include = format!("<xs:include schemaLocation=\"{declarer}\"/>");
    let mut patched = false;
    for (name, text) in &texts {
        if *name == declarer
            || text.contains(&include)
            || !references.iter().any(|r| text.contains(r.as_str()))
        {
            continue;
        }
        // Insert right after the `<xs:schema …>` start tag.
        let Some(start) = text.find("<xs:schema") else {
            continue;
        };
        let Some(end) = text[start..].find('>') else {
            continue;
        };
        let at = start + end + 1;
        let new_text = format!("{}\n  {include}{}", &text[..at], &text[at..]);
        std::fs::write(staged.join(name), new_text).map_err(|e| format!("{name}: {e}"))?;
        patched = true;
    }
    if patched {
        Ok(())
    } else {
        Err(format!("type `{type_name}` cannot be resolved"))
    }
}

/// Converts the declarations of one file from one interpreter run.
struct FileConverter<'a> {
    schemas: &'a Schemas,
    types: &'a MetaTypes,
    own: Option<SchemaId>,
    file: String,
    model: &'a mut Model,
}

impl<'a> FileConverter<'a> {
    fn new(schemas: &'a Schemas, types: &'a MetaTypes, path: &Path, model: &'a mut Model) -> Self {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let own = schemas
            .schemas()
            .find(|(_, info)| {
                info.location
                    .as_ref()
                    .and_then(|url| url.to_file_path().ok())
                    .is_some_and(|p| p.canonicalize().unwrap_or(p) == canonical)
            })
            .map(|(id, _)| *id);
        FileConverter {
            schemas,
            types,
            own,
            file: file_stem(path),
            model,
        }
    }

    fn convert(mut self) {
        let Some(own) = self.own else { return };
        let items: Vec<(&TypeIdent, _)> = self
            .types
            .items
            .iter()
            .filter(|(ident, _)| ident.schema == own && ident.name.is_named())
            .collect();
        for (ident, meta) in items {
            match ident.type_ {
                IdentType::Type => {
                    let key = Key {
                        origin: Origin::Named(ident.name.as_str().to_string()),
                        path: Vec::new(),
                    };
                    if self.model.defs.contains_key(&key) {
                        continue;
                    }
                    let ty =
                        self.type_of(ident, &key, ident.name.as_str(), &meta.documentation, true);
                    self.model.defs.entry(key).or_insert(Def::Alias(ty));
                }
                IdentType::Element => {
                    let element = ident.name.as_str().to_string();
                    let key = Key {
                        origin: Origin::Global {
                            file: self.file.clone(),
                            element: element.clone(),
                        },
                        path: Vec::new(),
                    };
                    let target = match &meta.variant {
                        MetaTypeVariant::Reference(r) => r.type_.clone(),
                        _ => ident.clone(),
                    };
                    let ty = self.type_of(&target, &key, &element, &meta.documentation, false);
                    self.model.defs.entry(key).or_insert(Def::Alias(ty));
                    self.model.globals.push(GlobalDef {
                        file: self.file.clone(),
                        element,
                        docs: meta.documentation.clone(),
                    });
                }
                _ => {}
            }
        }
    }

    fn is_xs(&self, ident: &TypeIdent) -> bool {
        self.schemas
            .get_namespace_info(&ident.ns)
            .and_then(|info| info.namespace.as_ref())
            .is_some_and(|ns| ns.0.as_ref() == XS_NAMESPACE)
    }

    fn stem_of(&self, schema: SchemaId) -> String {
        self.schemas
            .get_schema(&schema)
            .and_then(|info| info.location.as_ref())
            .and_then(|url| url.to_file_path().ok())
            .map(|p| file_stem(&p))
            .unwrap_or_else(|| self.file.clone())
    }

    /// The type of `ident`. Anonymous complex types become structs stored under `key`;
    /// `top` is true when `ident` is the named type `key` itself.
    fn type_of(
        &mut self,
        ident: &TypeIdent,
        key: &Key,
        xml_name: &str,
        docs: &[String],
        top: bool,
    ) -> Ty {
        if self.is_xs(ident) {
            return xs_builtin(ident.name.as_str());
        }
        if ident.type_ == IdentType::BuildIn {
            return xs_builtin(ident.name.as_str());
        }
        let own_named = top && ident.type_ == IdentType::Type;
        if ident.name.is_named() && !own_named {
            match ident.type_ {
                IdentType::Type => {
                    return Ty::Ref(Key {
                        origin: Origin::Named(ident.name.as_str().to_string()),
                        path: Vec::new(),
                    })
                }
                IdentType::Element => {
                    return Ty::Ref(Key {
                        origin: Origin::Global {
                            file: self.stem_of(ident.schema),
                            element: ident.name.as_str().to_string(),
                        },
                        path: Vec::new(),
                    })
                }
                _ => {}
            }
        }
        let Some(meta) = self.types.items.get(ident) else {
            return Ty::Text;
        };
        let mut all_docs = docs.to_vec();
        for d in &meta.documentation {
            if !all_docs.contains(d) {
                all_docs.push(d.clone());
            }
        }
        match &meta.variant {
            MetaTypeVariant::BuildIn(b) => builtin(b),
            MetaTypeVariant::Reference(r) => {
                if more_than_one(r.max_occurs) {
                    Ty::Text // xs:list
                } else {
                    let target = r.type_.clone();
                    self.type_of(&target, key, xml_name, &all_docs, false)
                }
            }
            MetaTypeVariant::SimpleType(s) => {
                if s.is_list {
                    Ty::Text
                } else {
                    let base = s.base.clone();
                    self.type_of(&base, key, xml_name, &[], false)
                }
            }
            MetaTypeVariant::Enumeration(_) | MetaTypeVariant::Union(_) => Ty::Text,
            MetaTypeVariant::Custom(_) => Ty::Text,
            MetaTypeVariant::Dynamic(_) => Ty::Template,
            MetaTypeVariant::ComplexType(c) => {
                let c = c.clone();
                self.complex(&c, key, xml_name, &all_docs)
            }
            MetaTypeVariant::Sequence(_) | MetaTypeVariant::All(_) | MetaTypeVariant::Choice(_) => {
                let mut fields = Vec::new();
                let mut any = false;
                self.flatten(ident, 1, MaxOccurs::Bounded(1), key, &mut fields, &mut any);
                self.finish_struct(fields, any, key, xml_name, &all_docs)
            }
        }
    }

    fn complex(&mut self, c: &ComplexMeta, key: &Key, xml_name: &str, docs: &[String]) -> Ty {
        let mut fields = Vec::new();
        let mut any = false;
        // A complexContent extension needs nothing special: the interpreter already puts the
        // base type's elements at the start of `content`.
        if let xsd_parser::models::meta::Base::Extension(base) = &c.base {
            if c.content.is_none() && !self.is_complex(base) {
                // simpleContent: the element is a leaf of the base type.
                let base = base.clone();
                return self.type_of(&base, key, xml_name, &[], false);
            }
        }
        if let Some(content) = &c.content {
            let content = content.clone();
            match self.types.items.get(&content).map(|t| &t.variant) {
                Some(
                    MetaTypeVariant::Sequence(_)
                    | MetaTypeVariant::All(_)
                    | MetaTypeVariant::Choice(_),
                ) => {
                    self.flatten(
                        &content,
                        c.min_occurs,
                        c.max_occurs,
                        key,
                        &mut fields,
                        &mut any,
                    );
                }
                _ => {
                    // Simple content.
                    return self.type_of(&content, key, xml_name, &[], false);
                }
            }
        }
        self.finish_struct(fields, any, key, xml_name, docs)
    }

    fn is_complex(&self, ident: &TypeIdent) -> bool {
        if self.is_xs(ident) {
            return ident.name.as_str() == "anyType";
        }
        matches!(
            self.types.get_resolved_type(ident).map(|t| &t.variant),
            Some(MetaTypeVariant::ComplexType(_))
        )
    }

    fn finish_struct(
        &mut self,
        fields: Vec<FieldDef>,
        any: bool,
        key: &Key,
        xml_name: &str,
        docs: &[String],
    ) -> Ty {
        if fields.is_empty() && any {
            return Ty::Template;
        }
        self.model.defs.insert(
            key.clone(),
            Def::Struct(StructDef {
                xml_name: xml_name.to_string(),
                docs: docs.to_vec(),
                fields,
                keeps_unknown: any,
                file: self.file.clone(),
            }),
        );
        Ty::Ref(key.clone())
    }

    /// Collects the elements of the model group `group` (occurring `min..=max` times) as
    /// fields, flattening nested groups: order is irrelevant to the tolerant reader, so only
    /// each element's own cardinality matters.
    fn flatten(
        &mut self,
        group: &TypeIdent,
        min: usize,
        max: MaxOccurs,
        key: &Key,
        fields: &mut Vec<FieldDef>,
        any: &mut bool,
    ) {
        let Some(meta) = self.types.items.get(group) else {
            return;
        };
        let (elements, is_choice) = match &meta.variant {
            MetaTypeVariant::Sequence(g) | MetaTypeVariant::All(g) => (g.elements.0.clone(), false),
            MetaTypeVariant::Choice(g) => (g.elements.0.clone(), true),
            _ => return,
        };
        let group_min = if is_choice && elements.len() > 1 {
            0
        } else {
            min
        };
        for element in elements {
            let el_min = element.min_occurs * group_min;
            let el_max = multiply(element.max_occurs, max);
            match &element.variant {
                ElementMetaVariant::Text => {}
                ElementMetaVariant::Any { .. } => *any = true,
                ElementMetaVariant::Type {
                    type_,
                    mode: ElementMode::Group,
                } => {
                    self.flatten(type_, el_min, el_max, key, fields, any);
                }
                ElementMetaVariant::Type {
                    type_,
                    mode: ElementMode::Element,
                } => {
                    let xml_name = element.ident.name.as_str().to_string();
                    let card = if more_than_one(el_max) {
                        Card::Many
                    } else if el_min == 0 {
                        Card::Optional
                    } else {
                        Card::Required
                    };
                    if let Some(existing) = fields.iter_mut().find(|f| f.xml_name == xml_name) {
                        // The same element in two branches: it may occur more than once.
                        existing.card = Card::Many;
                        continue;
                    }
                    let child_key = key.child(&xml_name);
                    let xsd_type = self.describe(type_);
                    // oned keeps every TEMPLATE and USER_TEMPLATE as a Template object: free
                    // attributes, vectors, repetitions. Where an XSD spells out their usual
                    // content (VM, zone, hook, security group ...) that structure documents
                    // the common attributes, but decoding into a fixed struct would drop every
                    // other attribute and break read-modify-update. So they are always the
                    // template dictionary.
                    let ty = if is_template_element(&xml_name) {
                        Ty::Template
                    } else {
                        self.type_of(type_, &child_key, &xml_name, &element.documentation, false)
                    };
                    fields.push(FieldDef {
                        xml_name,
                        ty,
                        card,
                        xsd_type,
                        docs: element.documentation.clone(),
                    });
                }
            }
        }
    }

    /// A short description of the XSD type of an element, for field docs.
    fn describe(&self, ident: &TypeIdent) -> String {
        if self.is_xs(ident) {
            return format!("xs:{}", ident.name.as_str());
        }
        match (&ident.name, ident.type_) {
            (Name::Named(n), IdentType::Type) => n.to_string(),
            (Name::Named(n), IdentType::Element) => format!("element {n}"),
            _ => match self.types.items.get(ident).map(|t| &t.variant) {
                Some(MetaTypeVariant::Reference(r)) if self.is_xs(&r.type_) => {
                    format!("xs:{}", r.type_.name.as_str())
                }
                Some(MetaTypeVariant::Reference(r))
                    if r.type_.name.is_named() && r.type_.type_ == IdentType::Type =>
                {
                    r.type_.name.as_str().to_string()
                }
                _ => "anonymous type".to_string(),
            },
        }
    }
}

fn more_than_one(m: MaxOccurs) -> bool {
    !matches!(m, MaxOccurs::Bounded(0 | 1))
}

fn multiply(a: MaxOccurs, b: MaxOccurs) -> MaxOccurs {
    match (a, b) {
        (MaxOccurs::Bounded(x), MaxOccurs::Bounded(y)) => MaxOccurs::Bounded(x.saturating_mul(y)),
        (MaxOccurs::Bounded(0), _) | (_, MaxOccurs::Bounded(0)) => MaxOccurs::Bounded(0),
        _ => MaxOccurs::Unbounded,
    }
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Maps an XML Schema builtin type name to our leaf types.
fn xs_builtin(name: &str) -> Ty {
    match name {
        "anyType" => Ty::Template,
        "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger"
        | "positiveInteger" | "nonPositiveInteger" | "negativeInteger" | "unsignedLong"
        | "unsignedInt" | "unsignedShort" | "unsignedByte" | "i8" | "i16" | "i32" | "i64"
        | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => Ty::Int,
        "decimal" | "float" | "double" | "f32" | "f64" => Ty::Float,
        _ => Ty::Text,
    }
}

fn builtin(b: &BuildInMeta) -> Ty {
    use BuildInMeta as B;
    match b {
        B::U8
        | B::U16
        | B::U32
        | B::U64
        | B::U128
        | B::Usize
        | B::I8
        | B::I16
        | B::I32
        | B::I64
        | B::I128
        | B::Isize => Ty::Int,
        B::F32 | B::F64 => Ty::Float,
        B::Bool | B::Str | B::String => Ty::Text,
    }
}

/// Elements that are OpenNebula templates whatever their XSD type says.
fn is_template_element(xml_name: &str) -> bool {
    matches!(xml_name, "TEMPLATE" | "USER_TEMPLATE")
}
