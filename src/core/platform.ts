/** An image platform (`os/architecture[/variant]`): shared by the registry client and the config schema. */

/** `linux/amd64`, `linux/arm64/v8`. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** `linux/amd64` -> Platform; undefined for text that is not os/arch[/variant]. */
export function parsePlatform(text: string): Platform | undefined {
  const [os, architecture, variant, extra] = text.split("/");
  if (!os || !architecture || extra !== undefined) return undefined;
  return variant ? { os, architecture, variant } : { os, architecture };
}
