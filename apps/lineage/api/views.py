from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.lineage.selectors import DIRECTIONS, LEVELS, MAX_DEPTH, lineage_graph

MAX_ID = 2**63 - 1
RELATIONS = (
    "version, trained, trained_on, produced, requested, deployed, stable, candidate, "
    "revision_of, monitored, observed, triggered"
)


class LineageQuerySerializer(serializers.Serializer):
    node = serializers.CharField(
        max_length=60, help_text=f"TYPE:ID, TYPE one of {', '.join(LEVELS)}"
    )
    direction = serializers.ChoiceField(choices=DIRECTIONS, default="both")
    depth = serializers.IntegerField(
        min_value=1, max_value=MAX_DEPTH, required=False, default=None, allow_null=True,
        help_text=f"Hops from the node, 1 to {MAX_DEPTH}; all of them when left out.",
    )  # fmt: skip

    def validate_node(self, value: str) -> tuple[str, int]:
        kind, colon, pk = value.partition(":")
        if kind not in LEVELS:
            raise serializers.ValidationError(
                f"Unknown node type '{kind}'; use TYPE:ID with TYPE one of {', '.join(LEVELS)}."
            )
        if not colon or not pk.isascii() or not pk.isdigit():
            raise serializers.ValidationError("Use TYPE:ID with a numeric ID, e.g. deployment:3.")
        if not 1 <= int(pk) <= MAX_ID:
            raise serializers.ValidationError("The id is out of range.")
        return kind, int(pk)


class NodeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="TYPE:ID")
    type = serializers.ChoiceField(choices=LEVELS)
    label = serializers.CharField()
    status = serializers.CharField(help_text="The object's own status, stage or state")
    url = serializers.CharField(help_text="The node's page in the portal; empty when it has none")


class EdgeSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="TYPE:ID of the upstream end")
    target = serializers.CharField(help_text="TYPE:ID of the downstream end")
    relation = serializers.CharField(help_text=RELATIONS)


class GraphSerializer(serializers.Serializer):
    nodes = NodeSerializer(many=True)
    edges = EdgeSerializer(many=True)


class LineageView(APIView):
    """The lineage graph around one node: upstream (where it came from), downstream (what
    depends on it) or both, optionally within `depth` hops; only what the caller may see.
    Edges point the way data flows."""

    @extend_schema(
        parameters=[
            OpenApiParameter("node", str, required=True, description="TYPE:ID, e.g. deployment:3"),
            OpenApiParameter("direction", str, enum=list(DIRECTIONS), description="default both"),
            OpenApiParameter(
                "depth", int, description=f"hops from the node, 1..{MAX_DEPTH}; default all"
            ),
        ],
        responses=GraphSerializer,
    )
    def get(self, request: Request) -> Response:
        query = LineageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        kind, pk = query.validated_data["node"]
        graph = lineage_graph(
            user=request.user, kind=kind, pk=pk,
            direction=query.validated_data["direction"], depth=query.validated_data["depth"],
        )  # fmt: skip
        if graph is None:
            raise NotFound(f"No {kind} {pk}.")
        # The selector's dict already has the documented shape; running it through the
        # serializers would only copy it (slowly, for graphs of thousands of nodes).
        return Response(graph)
