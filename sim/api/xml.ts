/** One XML element with its text escaped, as the awsQuery and EC2 query protocols answer. */
export function element(name: string, value: string): string {
  return `<${name}>${escape(value)}</${name}>`;
}

export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
