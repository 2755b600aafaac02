/**
 * The first line of a yaml library error, without the "at line L, column C:" it ends with (the
 * caller says where, once) and without the excerpt of the source that follows: a message that
 * reads as a sentence.
 */
export function yamlErrorText(message: string): string {
  return (message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?\s*$/, "").replace(/:\s*$/, "");
}
