//! The jump history: a back/forward stack of places (like a browser's, or yazi's
//! `Backstack`). Jumping pushes the place left; going back moves it to the forward side.

/// Places behind and ahead of the current one.
#[derive(Debug, Clone)]
pub struct Backstack<T> {
    back: Vec<T>,
    fwd: Vec<T>,
}

impl<T> Default for Backstack<T> {
    fn default() -> Self {
        Backstack {
            back: Vec::new(),
            fwd: Vec::new(),
        }
    }
}

impl<T> Backstack<T> {
    /// Records `current` before a jump; the forward side is dropped.
    pub fn push(&mut self, current: T) {
        self.back.push(current);
        self.fwd.clear();
    }

    /// The place before, if any; `current` goes to the forward side.
    pub fn back(&mut self, current: T) -> Option<T> {
        let to = self.back.pop()?;
        self.fwd.push(current);
        Some(to)
    }

    /// The place after, if any; `current` goes to the back side.
    pub fn forward(&mut self, current: T) -> Option<T> {
        let to = self.fwd.pop()?;
        self.back.push(current);
        Some(to)
    }

    /// How many places back and forward.
    pub fn depth(&self) -> (usize, usize) {
        (self.back.len(), self.fwd.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_and_forward_swap_places() {
        let mut h = Backstack::default();
        h.push(1);
        h.push(2);
        assert_eq!(h.back(3), Some(2));
        assert_eq!(h.depth(), (1, 1));
        assert_eq!(h.forward(2), Some(3));
        assert_eq!(h.forward(3), None);
        assert_eq!(h.back(3), Some(2));
        h.push(9);
        assert_eq!(h.depth(), (2, 0));
    }
}
