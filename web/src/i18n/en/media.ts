// English strings of the media screens. Keys are "media.<name>"; {x} is a parameter.
export default {
} as Record<string, string>;
