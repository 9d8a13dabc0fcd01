// English strings of the people screens. Keys are "people.<name>"; {x} is a parameter.
export default {
} as Record<string, string>;
