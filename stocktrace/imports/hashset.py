"""What an import remembers of the rows before: a set of 64-bit hashes in one flat array, 16–32 bytes per
entry where a Python set of ints takes ~70. A million SKUs fit in 16–32 MB.

Two different keys with the same 64-bit hash would pass for a repeat: for a million keys the odds are
about 1 in 10^7 per file, and the row is then reported, never silently merged."""

from array import array

_MASK64 = (1 << 64) - 1


class HashSet:
    __slots__ = ("_slots", "_mask", "_count")

    def __init__(self, capacity: int = 1 << 14):
        self._slots = array("Q", [0]) * capacity
        self._mask = capacity - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @staticmethod
    def _hash(key) -> int:
        return (hash(key) & _MASK64) or 1  # 0 marks an empty slot

    def add(self, key) -> bool:
        """Remember the key; True when it was seen before."""
        value = self._hash(key)
        slots, mask = self._slots, self._mask
        index = value & mask
        while True:
            current = slots[index]
            if current == value:
                return True
            if current == 0:
                slots[index] = value
                self._count += 1
                if self._count * 2 > mask:
                    self._grow()
                return False
            index = (index + 1) & mask

    def __contains__(self, key) -> bool:
        value = self._hash(key)
        slots, mask = self._slots, self._mask
        index = value & mask
        while True:
            current = slots[index]
            if current == value:
                return True
            if current == 0:
                return False
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        capacity = len(old) * 2
        slots = array("Q", [0]) * capacity
        mask = capacity - 1
        for value in old:
            if value:
                index = value & mask
                while slots[index]:
                    index = (index + 1) & mask
                slots[index] = value
        self._slots, self._mask = slots, mask
