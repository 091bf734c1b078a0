//! The import paths a Go source file declares, read without a Go parser.
//!
//! Only the file's head matters: the `package` clause, then `import` declarations, before
//! the first other declaration. Comments and the cgo preamble are skipped; what looks
//! unusual stops the scan, and the caller then treats the file as changed imports (the
//! package graph is read again: a wasted `go list`, never a missed import).

use std::collections::BTreeSet;

/// The import paths of `src`, or `None` when its head cannot be read with confidence.
pub(crate) fn file_imports(src: &str) -> Option<BTreeSet<String>> {
    let mut tokens = Tokens { rest: src };
    let mut imports = BTreeSet::new();
    if tokens.next()? != Token::Word("package") {
        return None;
    }
    let Token::Word(_) = tokens.next()? else {
        return None;
    };
    loop {
        match tokens.next() {
            Some(Token::Word("import")) => {}
            // The first other declaration, or the end of a file with no declaration.
            Some(Token::Word(_)) | None => return Some(imports),
            Some(Token::Semicolon) => continue,
            Some(_) => return None,
        }
        match tokens.next()? {
            Token::Open => loop {
                match tokens.next()? {
                    Token::Close => break,
                    Token::Semicolon | Token::Word(_) | Token::Dot => {}
                    Token::Str(path) => {
                        imports.insert(path);
                    }
                    Token::Open => return None,
                }
            },
            Token::Str(path) => {
                imports.insert(path);
            }
            // An alias (`name`, `_` or `.`) before the path.
            Token::Word(_) | Token::Dot => match tokens.next()? {
                Token::Str(path) => {
                    imports.insert(path);
                }
                _ => return None,
            },
            _ => return None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Str(String),
    Open,
    Close,
    Dot,
    Semicolon,
}

struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            self.rest = self.rest.trim_start();
            if let Some(after) = self.rest.strip_prefix("//") {
                self.rest = after.split_once('\n').map_or("", |(_, r)| r);
            } else if let Some(after) = self.rest.strip_prefix("/*") {
                self.rest = after.split_once("*/")?.1;
            } else {
                break;
            }
        }
        let c = self.rest.chars().next()?;
        let (token, len) = match c {
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            '.' => (Token::Dot, 1),
            ';' => (Token::Semicolon, 1),
            '"' => {
                let end = self.rest[1..].find(['"', '\n'])? + 1;
                if !self.rest[end..].starts_with('"') || self.rest[1..end].contains('\\') {
                    return None;
                }
                (Token::Str(self.rest[1..end].to_owned()), end + 1)
            }
            '`' => {
                let end = self.rest[1..].find('`')? + 1;
                (Token::Str(self.rest[1..end].to_owned()), end + 1)
            }
            c if c == '_' || c.is_alphanumeric() => {
                let len = self
                    .rest
                    .find(|c: char| c != '_' && !c.is_alphanumeric())
                    .unwrap_or(self.rest.len());
                (Token::Word(&self.rest[..len]), len)
            }
            _ => return None,
        };
        self.rest = &self.rest[len..];
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&str]) -> BTreeSet<String> {
        paths.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn imports_in_every_form_are_read() {
        let src = r#"// Package main serves users.
//go:build linux

package main // the binary

import "fmt"
import auth "example.test/repo/pkg/auth"
import (
	"net/http"
	_ "embed"
	. "strings" /* dot */
	db `example.test/repo/internal/db`
)

/*
#include <stdio.h>
*/
import "C"

func main() { fmt.Println("import \"not/this\"") }
"#;
        assert_eq!(
            file_imports(src),
            Some(set(&[
                "C",
                "embed",
                "example.test/repo/internal/db",
                "example.test/repo/pkg/auth",
                "fmt",
                "net/http",
                "strings"
            ]))
        );
    }

    #[test]
    fn a_file_without_imports_has_none() {
        assert_eq!(
            file_imports("package auth\n\nconst X = 1\n"),
            Some(set(&[]))
        );
        assert_eq!(file_imports("package auth\n"), Some(set(&[])));
    }

    #[test]
    fn what_cannot_be_read_is_none() {
        assert_eq!(file_imports(""), None);
        assert_eq!(file_imports("package main\nimport ("), None);
        assert_eq!(file_imports("package main\nimport \"unterminated\n"), None);
    }
}
