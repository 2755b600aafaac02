// The globs of `services[].namespace` and `services[].name`, and of the --namespace and --service
// filters: `*`, `?`, `[...]` and `\`, matched by this file and by no library. Every glob library
// we know of (picomatch, micromatch, minimatch, matcher, wildcard-match) compiles to a
// backtracking RegExp whose cost grows with the name's length to the power of the stars:
// picomatch took 5.1 s for `*a*a*a*a*a*a*b` on a 63-character name and 211 s with 8 stars, time
// the webhook would spend on every pod. Here a match remembers only the last star it passed, so
// it costs at most len(pattern) × len(name) steps, with no recursion and no RegExp.

type Token =
  | { readonly kind: "star" }
  | { readonly kind: "one" }
  | { readonly kind: "char"; readonly char: string }
  | { readonly kind: "class"; readonly negated: boolean; readonly ranges: readonly (readonly [number, number])[] };

export interface Glob {
  /** The name itself when the pattern has no wildcard (escapes taken out), so it can be looked up. */
  readonly literal: string | undefined;
  readonly matches: (name: string) => boolean;
}

const GLOB_SYNTAX =
  "a glob has * (any run of characters), ? (one character), [a-z] or [!a-z] (one character in the class, or not in it) and \\ (the next character as is)";

// What namespaces, service label values and workload names are made of.
const NAME_CHARACTER = /^[A-Za-z0-9._-]$/;

class GlobSyntaxError extends Error {}

function refuse(problem: string): never {
  throw new GlobSyntaxError(`${problem}; ${GLOB_SYNTAX}`);
}

/** A character that is not part of the syntax: a name character, else a refusal saying why. */
function literalCharacter(char: string, next?: string): string {
  if (NAME_CHARACTER.test(char)) return char;
  const extglob = "!@+".includes(char) && next === "(";
  if (char === "{" || char === "}") refuse("braces ({a,b}) are not supported: write one glob per alternative (in a policy, one services entry each)");
  if (extglob || char === "(" || char === ")" || char === "|")
    refuse("groups and extglobs (@(a|b), !(a), +(a)) are not supported: write one glob per alternative (in a policy, one services entry each)");
  if (char === "/") refuse('"/" is not supported: a namespace or service name has none');
  return refuse(`${JSON.stringify(char)} cannot be in a namespace or service name`);
}

/** The class that starts after the "[" at START: its token and where it ends. */
function parseClass(pattern: string, start: number): { token: Token; next: number } {
  let at = start;
  const negated = pattern[at] === "!" || pattern[at] === "^";
  if (negated) at++;
  const ranges: [number, number][] = [];
  const member = (): string => {
    const char = pattern[at]!;
    at++;
    if (char === "\\") {
      if (at >= pattern.length) refuse("ends in a lone \\");
      return pattern[at++]!;
    }
    if (char === "[") refuse("[ inside a class: POSIX classes such as [[:alpha:]] are not supported, write [a-zA-Z]");
    return char === "-" ? char : literalCharacter(char);
  };
  while (at < pattern.length && pattern[at] !== "]") {
    const low = member();
    let high = low;
    // "-" between two members is a range; first or last in the class it is itself.
    if (pattern[at] === "-" && at + 1 < pattern.length && pattern[at + 1] !== "]") {
      at++;
      high = member();
      if (high < low) refuse(`the range ${low}-${high} is reversed: write ${high}-${low}`);
    }
    ranges.push([low.charCodeAt(0), high.charCodeAt(0)]);
  }
  if (at >= pattern.length) refuse('a "[" is never closed by "]"');
  if (ranges.length === 0) refuse("a class names no character");
  return { token: { kind: "class", negated, ranges }, next: at + 1 };
}

function parse(pattern: string): Token[] {
  if (pattern === "") refuse('is empty: write "*" for any name');
  if (pattern.startsWith("!"))
    refuse("a leading ! (negation) is not supported: match what you want instead (in a policy, an earlier entry with inject: false leaves names out)");
  const tokens: Token[] = [];
  let at = 0;
  while (at < pattern.length) {
    const char = pattern[at]!;
    if (char === "\\") {
      if (at + 1 >= pattern.length) refuse("ends in a lone \\");
      tokens.push({ kind: "char", char: pattern[at + 1]! });
      at += 2;
    } else if (char === "*") {
      if (pattern[at + 1] === "*") refuse('"**" is not supported: a name has no "/", so "*" already matches any run');
      tokens.push({ kind: "star" });
      at++;
    } else if (char === "?") {
      tokens.push({ kind: "one" });
      at++;
    } else if (char === "[") {
      const { token, next } = parseClass(pattern, at + 1);
      tokens.push(token);
      at = next;
    } else {
      tokens.push({ kind: "char", char: literalCharacter(char, pattern[at + 1]) });
      at++;
    }
  }
  return tokens;
}

function matchesOne(token: Token, char: string): boolean {
  if (token.kind === "one") return true;
  if (token.kind === "char") return token.char === char;
  if (token.kind === "star") return false;
  const code = char.charCodeAt(0);
  return token.ranges.some(([low, high]) => code >= low && code <= high) !== token.negated;
}

/** The classic wildcard match: on a mismatch, go back to the last star and let it take one more character. */
function matchTokens(tokens: readonly Token[], name: string): boolean {
  let t = 0;
  let n = 0;
  let star = -1;
  let starTook = 0;
  while (n < name.length) {
    const token = tokens[t];
    if (token?.kind === "star") {
      star = t++;
      starTook = n;
    } else if (token && matchesOne(token, name[n]!)) {
      t++;
      n++;
    } else if (star >= 0) {
      t = star + 1;
      n = ++starTook;
    } else return false;
  }
  while (tokens[t]?.kind === "star") t++;
  return t === tokens.length;
}

/** Why PATTERN is not a glob mesh-tailor matches, or undefined when it is one. */
export function globProblem(pattern: string): string | undefined {
  try {
    parse(pattern);
    return undefined;
  } catch (error) {
    if (error instanceof GlobSyntaxError) return error.message;
    throw error;
  }
}

/** Compiles PATTERN; throws an Error saying what is wrong with it (globProblem's text). */
export function compileGlob(pattern: string): Glob {
  const tokens = parse(pattern);
  if (tokens.every((t) => t.kind === "char")) {
    const literal = tokens.map((t) => (t.kind === "char" ? t.char : "")).join("");
    return { literal, matches: (name) => name === literal };
  }
  return { literal: undefined, matches: (name) => matchTokens(tokens, name) };
}
