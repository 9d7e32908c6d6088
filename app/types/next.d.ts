// Next's own declarations (`server-only`, CSS and image imports), kept in the
// repository because the generated next-env.d.ts is not.
/// <reference types="next" />
/// <reference types="next/image-types/global" />
