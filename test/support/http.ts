export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined when the body is empty or not JSON). */
  json: any;
}

async function answer(response: Response): Promise<HttpAnswer> {
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** POSTs `application/x-www-form-urlencoded` parameters (pairs allow repeating a name). */
export async function postForm(
  url: string,
  parameters: Record<string, string> | [string, string][],
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const body = new URLSearchParams(parameters as Record<string, string>).toString();
  return answer(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body }));
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  return answer(await fetch(url, init));
}
