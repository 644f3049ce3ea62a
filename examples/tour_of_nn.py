"""A tour of Torch ``nn`` in ember: every cell of the classic tutorial, printed and checked.

The tour is library code, so that ``ember tour`` runs it too: read it in
``ember/recipes/tour.py``, one function per part of the tutorial, beside the
output of this script.

Run: ``python examples/tour_of_nn.py``
"""

from ember.recipes import tour

if __name__ == "__main__":
    tour.main()
