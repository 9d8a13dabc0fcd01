// English strings of the conversation view. Keys are "conv.<name>"; {x} is a parameter.
export default {
} as Record<string, string>;
