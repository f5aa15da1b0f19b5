// Keeps secrets out of logs, errors and /status: credentials in URLs and token-like query parameters.

const SECRET_PARAMS = /([?&](?:token|key|secret|password|api[_-]?key|access[_-]?token)=)[^&#]*/gi;

/** Removes user:password from a URL and masks token-like query parameters; non-URLs pass through masked the same way. */
export function redactUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString().replace(SECRET_PARAMS, '$1***').replace(/\/$/, '');
  } catch {
    return value.replace(/\/\/[^/@\s]+@/g, '//').replace(SECRET_PARAMS, '$1***');
  }
}

/** A webhook or similar secret URL shown only by its host, e.g. `https://hooks.slack.com/…`. */
export function maskSecretUrl(value: string): string {
  try {
    const u = new URL(value);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(invalid URL)';
  }
}
