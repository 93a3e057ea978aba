"""The reader's screens: the reader itself and its dialogs, each a `ModalScreen` that hands back a value."""
