/** JSON text as a value, or undefined when it is not JSON: the schema that reads it says what was wrong. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
