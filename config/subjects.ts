// NATS subject syntax, checked before anything is rendered: a subject the server would read
// differently from what the person meant is refused here with a reason.

/** Why `subject` is not a valid NATS subject (or subscription pattern), or undefined if it is. */
export function subjectProblem(subject: string): string | undefined {
  if (subject.length === 0) return "it is empty";
  if (subject.length > 512) return `it is ${subject.length} characters long; the limit here is 512`;
  if (/[\s\u0000-\u001f\u007f]/.test(subject)) return "it contains whitespace or a control character";
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.length === 0) return "it has an empty token (two dots in a row, or a leading or trailing dot)";
    if (token.includes("*") && token !== "*") return `"*" must be a whole token, but token ${i + 1} is "${token}"`;
    if (token.includes(">") && token !== ">") return `">" must be a whole token, but token ${i + 1} is "${token}"`;
    if (token === ">" && i !== tokens.length - 1) return '">" may only be the last token';
  }
  return undefined;
}

export const SUBJECT_HELP =
  'subjects are dot-separated tokens such as "orders.created"; "*" matches exactly one token and ">" matches the rest (last token only)';

/** True if some message subject could match both patterns (so two streams would both capture it). */
export function subjectsOverlap(a: string, b: string): boolean {
  const left = a.split(".");
  const right = b.split(".");
  for (let i = 0; ; i++) {
    const l = left[i];
    const r = right[i];
    if (l === ">" || r === ">") return l !== undefined && r !== undefined;
    if (l === undefined || r === undefined) return l === r;
    if (l !== "*" && r !== "*" && l !== r) return false;
  }
}

/** True if every subject that `inner` matches is also matched by `outer`. */
export function subjectCovers(outer: string, inner: string): boolean {
  const o = outer.split(".");
  const i = inner.split(".");
  for (let k = 0; k < o.length; k++) {
    if (o[k] === ">") return k < i.length;
    if (k >= i.length || i[k] === ">") return false;
    if (o[k] !== "*" && (i[k] === "*" || o[k] !== i[k])) return false;
  }
  return o.length === i.length;
}
