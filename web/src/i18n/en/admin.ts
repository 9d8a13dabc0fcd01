// English strings of the admin screens. Keys are "admin.<name>"; {x} is a parameter.
export default {
} as Record<string, string>;
