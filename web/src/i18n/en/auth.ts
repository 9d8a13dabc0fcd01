// English strings of the auth screens. Keys are "auth.<name>"; {x} is a parameter.
export default {
} as Record<string, string>;
