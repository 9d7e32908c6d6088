/**
 * The few web-platform globals trust-core's portable core relies on. They
 * exist in Node, browsers and workers alike; declaring them here keeps the
 * core compiling without pulling in the whole DOM or Node type libraries.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
